"""Pictures of training and of the inside of a network, as the notes draw them.

Every function builds a :class:`matplotlib.figure.Figure` without pyplot and returns it;
:func:`save_figure` writes it atomically as PNG or SVG. This is the only package that imports
matplotlib, inside each function, so ``import deltaprop`` stays light.

- :func:`plot_learning_curves`, :func:`plot_layer_curves`, :func:`plot_gradient_norms`
  (:mod:`~deltaprop.viz.curves`);
- :func:`plot_confusion_matrix` (:mod:`~deltaprop.viz.confusion`);
- :func:`plot_decision_regions` (:mod:`~deltaprop.viz.regions`, 003);
- :func:`plot_weight_templates`, :func:`plot_hinton` (:mod:`~deltaprop.viz.weights`, 003);
- :func:`plot_activation_histograms` (:mod:`~deltaprop.viz.activations`, 001 saturation);
- :func:`plot_landscape_1d`, :func:`plot_landscape_2d` (:mod:`~deltaprop.viz.landscape`, 004).
"""

from deltaprop.viz.activations import plot_activation_histograms
from deltaprop.viz.confusion import plot_confusion_matrix
from deltaprop.viz.curves import plot_gradient_norms, plot_layer_curves, plot_learning_curves
from deltaprop.viz.figures import new_figure, save_figure
from deltaprop.viz.landscape import plot_landscape_1d, plot_landscape_2d
from deltaprop.viz.regions import plot_decision_regions
from deltaprop.viz.weights import plot_hinton, plot_weight_templates

__all__ = ["new_figure", "save_figure", "plot_learning_curves", "plot_layer_curves",
           "plot_gradient_norms", "plot_confusion_matrix", "plot_decision_regions",
           "plot_weight_templates", "plot_hinton", "plot_activation_histograms",
           "plot_landscape_1d", "plot_landscape_2d"]
