"""Importing this module registers every family of cases (order: the order of the report)."""

from hostile import fam_compose, fam_dockerfile, fam_images, fam_names, fam_numbers, fam_registry, fam_secrets

MODULES = (fam_compose, fam_names, fam_numbers, fam_dockerfile, fam_secrets, fam_images, fam_registry)
