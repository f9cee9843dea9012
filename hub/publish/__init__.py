"""Publishing: model cards, ONNX-zoo test data, Hub uploads (`popgen-hub push`)."""
