"""The central-difference checker itself: exact on known functions, and it catches wrong gradients."""
import numpy as np
import pytest

from course_lib import check_gradient, numerical_gradient, numerical_gradient_array, rel_error


def test_rel_error():
    assert rel_error(np.ones(3), np.ones(3)) == 0.0
    assert rel_error([1.0], [3.0]) == pytest.approx(0.5)
    assert rel_error(np.zeros(2), np.zeros(2)) == 0.0
    with pytest.raises(ValueError, match="shapes"):
        rel_error(np.ones(2), np.ones(3))


def test_numerical_gradient_of_a_cubic_is_exact_to_truncation():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    x0 = x.copy()
    grad, mask = numerical_gradient(lambda z: np.sum(z ** 3), x)
    assert mask.all()
    assert rel_error(grad, 3 * x0 ** 2) < 1e-7  # truncation error h^2 f'''/6 relative to small entries
    np.testing.assert_array_equal(x, x0)  # restored after perturbation


def test_random_subset_only_computes_that_many_entries():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(50)
    grad, mask = numerical_gradient(lambda z: np.sum(np.sin(z)), x, num_checks=7, rng=rng)
    assert mask.sum() == 7
    assert np.all(grad[~mask] == 0)
    assert rel_error(grad[mask], np.cos(x)[mask]) < 1e-8
    with pytest.raises(ValueError, match="rng"):
        numerical_gradient(lambda z: 0.0, x, num_checks=3)


def test_integer_input_is_refused():
    with pytest.raises(TypeError, match="floating"):
        numerical_gradient(lambda z: 0.0, np.arange(3))


def test_check_gradient_flags_a_wrong_gradient():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 3))
    f = lambda z: float(np.sum(z ** 2))  # noqa: E731
    assert check_gradient(f, x, 2 * x) < 1e-9
    assert check_gradient(f, x, x) > 0.3
    assert check_gradient(f, x, 2 * x.T.reshape(x.shape)) > 1e-2


def test_numerical_gradient_array_is_the_vector_jacobian_product():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 5))
    g = rng.standard_normal((2, 5))
    assert rel_error(numerical_gradient_array(np.tanh, x, g), g * (1 - np.tanh(x) ** 2)) < 1e-8
