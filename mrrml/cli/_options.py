"""What several commands share about their option groups, defined once so their meaning cannot drift.

Every role that talks to an OpenAI-compatible server (synthesis's generator and judge, HealthBench's
sampler and grader) is a :class:`~mrrml.openai_client.ChatSettings` group on the command line
(``--judge.base_url``, ``--grader.max_tokens`` ...) or a subclass of it that adds the role's own
options. Secrets are never options: a role names the environment variable that holds its key.
"""

from __future__ import annotations

from dataclasses import fields

from ..openai_client import ChatClient, ChatSettings


def chat_client(settings: ChatSettings, group: str, *, key_required: bool) -> ChatClient:
    """The client of the ``--group.*`` options; a bad or missing value is an error naming the option.

    A role's own extra options (a subclass's fields) are left out, so the client's settings, and the
    reports and cache keys made from them, hold only what decides a request.
    """
    plain = ChatSettings(**{f.name: getattr(settings, f.name) for f in fields(ChatSettings)})
    return ChatClient.from_settings(plain, role=f"--{group}", key_required=key_required)
