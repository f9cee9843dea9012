"""Publishing: model cards, ONNX-zoo test data, Hub uploads (`popgen-hub push`)."""

#: The figures `popgen-hub train` draws, which export and push carry along.
FIGURES = ("training_curve.png", "confusion_matrix.png")
#: Figures carried along when the run has them: `train --repeats` draws the spread over
#: repeats, `compare -o RUN/comparison.png` the side-by-side of architectures.
OPTIONAL_FIGURES = ("repeats.png", "comparison.png")
