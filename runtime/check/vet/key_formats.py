"""Key formats detect-secrets does not know, as a detect-secrets plugin file.

detect-secrets loads this file itself (``scan --plugin``); skillrt never imports it. Its own
detectors miss keys common in agent skills: model providers' ``sk-`` keys, Google, GitLab and
Hugging Face tokens, a bearer token written into a header, and a key-like literal given to a
bare ``KEY``/``TOKEN`` name (its keyword detector wants ``api_key``, ``password`` and the like).
Each pattern asks for the provider's prefix, or for letters and digits mixed over a length no
identifier reaches, so that constants and names are not taken for keys.
"""

from __future__ import annotations

import re

from detect_secrets.plugins.base import RegexBasedDetector

__all__ = ["AssignedKeyDetector", "ProviderKeyDetector"]


class ProviderKeyDetector(RegexBasedDetector):
    secret_type = "Provider API Key"
    denylist = (
        # OpenAI, Anthropic and the many services that copied the form: sk-, sk-proj-, sk-ant-...
        re.compile(r"\bsk-(?:[a-z]{2,8}-){0,2}[A-Za-z0-9_-]{20,}"),
        re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),  # Google
        re.compile(r"\bglpat-[0-9A-Za-z_-]{20,}"),  # GitLab
        re.compile(r"\bgithub_pat_[0-9A-Za-z_]{22,}"),  # GitHub fine-grained
        re.compile(r"\bhf_[A-Za-z0-9]{30,}\b"),  # Hugging Face
        # A credential written into an Authorization header.
        re.compile(r"\bBearer\s+((?=[\w.=+/-]*\d)(?=[\w.=+/-]*[A-Za-z])[\w.=+/-]{20,})"),
    )


class AssignedKeyDetector(RegexBasedDetector):
    secret_type = "Key Assigned In Code"
    denylist = (
        # NAME_KEY = "...", token: '...': a quoted value of 20+ key characters with both letters
        # and digits, given to a name that ends in key, token or secret.
        re.compile(
            r"""(?i)\b\w*(?:key|token|secret)["']?\s*(?:=|:|:=)\s*["']"""
            r"""((?=[A-Za-z0-9_\-+/=.]*\d)(?=[A-Za-z0-9_\-+/=.]*[A-Za-z])[A-Za-z0-9_\-+/=.]{20,})["']"""
        ),
    )
