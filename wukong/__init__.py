"""The face of the pipeline: the `wukong` command and the bundled demo web. The only package that imports the stages."""

__version__ = "0.1.0"
