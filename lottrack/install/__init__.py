"""Installing and checking a deployment: ``lottrack init`` (schema, defaults, the first
administrator) and ``lottrack doctor`` (the deployment checks, each with its fix).
"""
