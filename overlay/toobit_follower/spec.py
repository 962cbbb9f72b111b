"""The API contract (``openapi.yaml``, packaged as ``toobit_follower_models/openapi.yaml``):
``spec_path``, ``spec_text``, ``spec_dict``, ``spec_version``, generated from the spec."""

from toobit_follower_models.spec import spec_dict, spec_path, spec_text, spec_version

__all__ = ["spec_dict", "spec_path", "spec_text", "spec_version"]
