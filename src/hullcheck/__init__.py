"""hullcheck: how an organization builds and ships its containers, night after night."""

__version__ = "0.1.0"
