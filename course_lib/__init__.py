"""course_lib: the course's one import point for notebooks.

Softmax classifiers and backpropagation from scratch in NumPy. Samples are columns
(X is features x samples), the bias is the last column of W, one-hot labels are
classes x samples. Heavier parts are submodules imported on demand:
``course_lib.symbolic``, ``course_lib.gradient_descent``, ``course_lib.animation``,
``course_lib.plotting``. The instructor's reference solutions live in
``course_lib.solutions`` (not shipped to students).
"""
from course_lib.activations import ReLU, Sigmoid, sigmoid
from course_lib.batching import epoch_batches, generate_batch_indices
from course_lib.data import DataFileError, MNIST, find_data_file, load_mnist, one_hot
from course_lib.gradient_check import check_gradient, numerical_gradient, numerical_gradient_array, rel_error
from course_lib.history import History
from course_lib.initializers import glorot_uniform, glorot_weights
from course_lib.layer import Layer
from course_lib.line_search import LineSearchResult, armijo_backtracking
from course_lib.metrics import accuracy, confusion_matrix
from course_lib.optim import minibatch_sgd
from course_lib.toy_data import add_bias_row, make_toy_data

__version__ = "0.1.0"

__all__ = [
    "DataFileError", "History", "Layer", "LineSearchResult", "MNIST", "ReLU", "Sigmoid",
    "accuracy", "add_bias_row", "armijo_backtracking", "check_gradient", "confusion_matrix",
    "epoch_batches", "find_data_file", "generate_batch_indices", "glorot_uniform", "glorot_weights",
    "load_mnist", "make_toy_data", "minibatch_sgd", "numerical_gradient", "numerical_gradient_array",
    "one_hot", "rel_error", "sigmoid",
]
