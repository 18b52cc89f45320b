"""The model: what a spec may say (layers, activations, losses) and the validated ``Network`` it becomes.

A new activation goes in ``activations.py``, a new loss in ``losses.py``; every consumer picks it up.
"""
