"""Serve a reward model over HTTP and call it the way an RL trainer would.

Starts ``mrrml serve`` (loopback, ephemeral port, bearer token from an environment variable),
then calls ``GET /info``, ``POST /score`` (per-dimension scores) and ``POST /get_reward`` (the
OpenRLHF protocol: full chat-templated query strings in, one reward each out), and stops the
server with SIGTERM, which finishes in-flight requests before exiting.

    .venv/bin/python examples/05_serve.py [MODEL_DIR]     # default: runs/examples/model (03_train.sh);
                                                          # without it, an untrained tiny model is built
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "My 2-year-old swallowed a button battery ten minutes ago. He seems fine. What should I do?"
GOOD = (
    "Go to the emergency department now, even though he seems fine: a button battery in the "
    "oesophagus can burn through tissue within two hours. Do not make him vomit. If he is over "
    "one year old, giving honey on the way can reduce the injury."
)
POOR = "Keep an eye on him and it should pass in his stool in a few days."


def model_dir() -> Path:
    if len(sys.argv) > 1:
        return Path(sys.argv[1])
    trained = ROOT / "runs" / "examples" / "model"
    if (trained / "mrrml_config.json").exists():
        return trained
    untrained = ROOT / "runs" / "examples" / "untrained-model"
    if not (untrained / "mrrml_config.json").exists():
        print("runs/examples/model not found (run examples/03_train.sh); building an untrained tiny model")
        from mrrml.model.backbone import BackboneConfig
        from mrrml.model.reward_model import RewardModel
        from mrrml.resources import shipped_matrix
        from mrrml.standards.loader import load_matrix

        RewardModel.build(
            BackboneConfig(name_or_path="builtin:tiny-qwen3"), load_matrix(shipped_matrix("healthbench"))
        ).save_pretrained(untrained)
    return untrained


def call(method: str, url: str, token: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def main() -> None:
    token = secrets.token_urlsafe(16)
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from mrrml.cli import main; sys.exit(main())",
            "serve",
            str(model_dir()),
            "--port",
            "0",
            "--scenario",
            "emergency_referrals",
            "--log-level",
            "WARNING",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "MRRML_SERVE_TOKEN": token},
    )
    try:
        line = server.stdout.readline()
        print(line.strip())
        url = re.search(r"listening on (http://\S+)", line).group(1)

        info = call("GET", f"{url}/info", token)
        print(
            "dimensions:",
            [d["id"] for d in info["dimensions"]],
            f"| matrix {info['matrix']['name']} v{info['matrix']['version']}",
        )

        scored = call(
            "POST",
            f"{url}/score",
            token,
            {"prompts": [QUESTION, QUESTION], "responses": [GOOD, POOR], "discipline": "pediatrics"},
        )
        for name, result in zip(("good", "poor"), scored["results"]):
            dims = ", ".join(f"{d}={v:+.2f}" for d, v in result["normalized"].items())
            print(f"/score {name}: reward={result['reward']:+.3f} ({dims})")

        # OpenRLHF sends whole decoded sequences; the server splits them at the assistant marker.
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(model_dir(), local_files_only=True)
        prompt = tokenizer.apply_chat_template(
            [{"role": "user", "content": QUESTION}], tokenize=False, add_generation_prompt=True
        )
        queries = [prompt + answer + "<|im_end|>" for answer in (GOOD, POOR)]
        rewards = call("POST", f"{url}/get_reward", token, {"query": queries, "discipline": "pediatrics"})["rewards"]
        print("/get_reward:", [round(r, 3) for r in rewards], "(the same rewards as /score)")
        print("/health:", call("GET", f"{url}/health", token))
    finally:
        server.send_signal(signal.SIGTERM)
        print(server.stdout.read().strip(), f"(exit code {server.wait(60)})")


if __name__ == "__main__":
    main()
