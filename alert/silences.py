"""Silences of alert rules: defined in the core (:mod:`newsmon.silences`), which the alert
stage, ``newsmon alerts silence`` and the analyst page share; re-exported for the stage."""

from newsmon.silences import (
    REFRESH,
    SilenceCache,
    active,
    in_force,
    silence,
    silence_id,
    unsilence,
)

__all__ = ["REFRESH", "SilenceCache", "active", "in_force", "silence", "silence_id", "unsilence"]
