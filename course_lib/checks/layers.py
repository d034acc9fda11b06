"""Visible checks of the layers notebook: ``cce``, ``cce_gradient``, ``Softmax.forward``,
``Softmax.backward``, ``Dense.backward`` and the training loop ``train_layers``.

Each check takes the student's function or class, tries small cases worked out by hand,
properties and numerical gradients, and raises ``CheckFailure`` in the student's terms.
When it recognises a common mistake the failure carries its name in ``error.mistake``
(a key of ``MISTAKES``); other failures carry one of ``common.GENERIC_MISTAKES``
(``"wrong_value"``, ``"wrong_shape"``, ``"wrong_type"``, ``"not_finite"``, ``"raised"``,
``"modifies_input"``), which ``MISTAKES`` includes."""
from __future__ import annotations

from course_lib.checks.common import GENERIC_MISTAKES
from course_lib.checks.layer_dense import (  # noqa: F401 - the checks and their parts, for the notebook and the judge
    _weights_gradient_shape,
    check_dense_backward,
    dense_one_sample,
)
from course_lib.checks.layer_losses import (  # noqa: F401 - the checks and their parts, for the notebook and the judge
    cce_gradient_one_sample,
    cce_gradient_worked_example,
    cce_gradient_zero_probabilities,
    cce_one_sample,
    cce_worked_examples,
    cce_zero_probabilities,
    check_cce,
    check_cce_gradient,
)
from course_lib.checks.layer_softmax import (  # noqa: F401 - the checks and their parts, for the notebook and the judge
    _flattened_jacobian,
    _one_sample_right,
    bumped,
    check_softmax_backward,
    check_softmax_forward,
    softmax_backward_batch,
    softmax_backward_one_sample,
    softmax_forward_large_scores,
    softmax_forward_worked_example,
    softmax_from_state,
)
from course_lib.checks.loop import LOOP_BATCH_MISTAKES, LOOP_MISTAKES, check_loop_trace, check_training_loop  # noqa: F401

# The mistakes these checks recognise by name, with what they look like.
MISTAKES = {
    "cce_per_sample": "cce returns one loss per sample instead of their mean",
    "cce_sum": "cce sums over samples instead of averaging",
    "cce_sign": "cce is missing the minus sign",
    "cce_divides_by_classes": "cce divides by the number of classes (rows) instead of samples: rows taken as samples",
    "cce_mean_over_all_entries": "cce averages over classes and samples",
    "cce_log_of_y": "cce takes the log of y instead of yhat",
    "cce_log_of_zero": "cce is not finite when a probability is exactly 0",
    "cce_gradient_divided_by_n": "cce_gradient divides by the number of samples",
    "cce_gradient_sign": "cce_gradient is missing the minus sign",
    "cce_gradient_fused": "cce_gradient returns yhat - y (the gradient w.r.t. the softmax input)",
    "cce_gradient_missing_y": "cce_gradient returns -1/yhat without the factor y",
    "cce_gradient_divides_by_zero": "cce_gradient is not finite when a probability is exactly 0",
    "cce_gradient_inverted": "cce_gradient divides by y instead of by yhat",
    "cce_gradient_log": "cce_gradient returns the loss terms -y log yhat instead of their derivative",
    "softmax_whole_matrix": "softmax normalised over the whole matrix instead of each column",
    "softmax_wrong_axis": "softmax normalised along rows (axis=1) instead of columns",
    "softmax_overflow": "softmax does not subtract the max before exp and overflows",
    "softmax_global_max": "softmax subtracts the max of the whole matrix instead of each column's",
    "softmax_max_over_rows": "softmax subtracts each row's max instead of each column's",
    "softmax_output_not_stored": "Softmax.forward does not store its result in self.output",
    "softmax_modifies_input": "Softmax.forward changes its input array in place",
    "softmax_backward_diagonal_only": "Softmax.backward uses only the Jacobian's diagonal a(1-a)",
    "softmax_backward_ignores_output_gradient": "Softmax.backward ignores output_gradient",
    "softmax_backward_sign": "Softmax.backward has the wrong sign",
    "softmax_backward_returns_jacobian": "Softmax.backward returns the Jacobians instead of applying them",
    "softmax_backward_missing_outer": "Softmax.backward's Jacobian is diag(a) without the outer product a a^T",
    "softmax_backward_missing_diagonal": "Softmax.backward's Jacobian is -a a^T without diag(a)",
    "softmax_backward_mixes_samples": "Softmax.backward mixes samples (einsum subscripts that sum over samples)",
    "softmax_backward_flattened_jacobian": "Softmax.backward builds one Jacobian over the whole flattened batch "
                                           "(np.identity(np.size(a)), np.outer) instead of one per sample",
    "dense_weights_gradient_transposed": "Dense weights gradient is transposed",
    "dense_weights_gradient_missing_bias": "Dense weights gradient has no bias column",
    "dense_weights_gradient_divided_by_n": "Dense weights gradient divides by the batch size again",
    "dense_weights_gradient_sign": "Dense weights gradient has the wrong sign",
    "dense_update_sign": "Dense update adds the gradient (+) instead of subtracting it",
    "dense_no_update": "Dense.backward does not update the weights",
    "dense_updated_before_input_gradient": "Dense updates the weights before computing the input gradient",
    "dense_input_gradient_bias_row": "Dense input gradient keeps the bias row",
    "dense_weights_gradient_uses_output": "Dense weights gradient uses the layer's output instead of output_gradient",
    "dense_weights_gradient_outer": "Dense weights gradient uses np.outer, which flattens a batch into one long vector",
    **LOOP_MISTAKES,
    **GENERIC_MISTAKES,
}

# The mistakes of the batch-versus-one-sample family (``diagnose.BATCH_FAMILY``): right for one
# sample, wrong on a batch. The judge gives the one-sample part its own check.
BATCH_MISTAKES = {
    "cce_per_sample": "mean_not_sum",
    "cce_sum": "sum_not_mean",
    "cce_divides_by_classes": "rows_as_samples",
    "cce_gradient_divided_by_n": "mean_not_sum",
    "softmax_whole_matrix": "per_sample_formula",
    "softmax_wrong_axis": "rows_as_samples",
    "softmax_backward_flattened_jacobian": "flattened_batch",
    "softmax_backward_mixes_samples": "per_sample_formula",
    "dense_weights_gradient_outer": "flattened_batch",
    "dense_weights_gradient_divided_by_n": "mean_not_sum",
    **LOOP_BATCH_MISTAKES,
}
