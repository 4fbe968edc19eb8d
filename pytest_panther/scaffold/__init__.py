"""Scaffolding: the skeleton of a detections repository and new detections.

``skeleton/`` is the repository's ``template/`` folder (a symbolic link in the source tree, real
files in a built wheel), so ``panther-gitops init`` lays out exactly what a team forking the
template gets. :mod:`.layout` copies it; :mod:`.detections` writes new detections.
"""
from __future__ import annotations
