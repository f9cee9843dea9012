"""Publishing: model cards, ONNX-zoo test data, Hub uploads (`popgen-hub push`)."""

#: The figures `popgen-hub train` draws, which export and push carry along.
FIGURES = ("training_curve.png", "confusion_matrix.png")
