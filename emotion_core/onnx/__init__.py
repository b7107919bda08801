"""onnxruntime sessions, and Keras networks rebuilt as ONNX graphs."""
