"""First-party hrbench plugins, registered through the `hrbench` entry-point group."""
