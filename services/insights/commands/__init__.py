"""How a command line is read: tokens, wrappers, simple commands, shapes (a leaf package)."""
