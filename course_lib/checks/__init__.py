"""Visible checks students run on their own answers, one module per notebook.

They never import the reference solutions: they test properties, small cases worked
out by hand and numerical gradients, and explain a failure in words."""
