"""analyse_video, the background job queue, annotated frames, and loading models once per process."""
