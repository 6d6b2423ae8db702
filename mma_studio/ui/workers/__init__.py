"""The QThread workers that run engine calls off the GUI thread and report through signals."""
