"""aikon: portrait drawings for pen plotters, from photograph to plotted page."""

__version__ = "0.1.0"
