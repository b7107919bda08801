"""What the Streamlit pages share: page chrome, the cached data layer, changes to it, charts."""
