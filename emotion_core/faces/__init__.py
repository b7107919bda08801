"""Face detectors behind one interface, the guided search for small faces, and tracking."""
