# The tiny config plus a test-only hook that saves every rank's final parameters.
_base_ = ['./etad_tiny_synthetic.py']
custom_imports = dict(imports=['etad_mmaction', 'param_dump_hook'], allow_failed_imports=False)
custom_hooks = [dict(type='ETADSamplingHook'), dict(type='NonFiniteCheckHook'),
                dict(type='ParamDumpHook')]
