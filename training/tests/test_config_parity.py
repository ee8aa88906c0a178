"""Config validation agrees across languages: one table of good and bad model configs through
training/config.py's validate_config and src/model/config.ts's validateConfig (the reference),
with the same verdict and the same message for each."""
from __future__ import annotations

import json
import os
import tempfile
import unittest

from training.config import DEFAULT_CONFIG, ConfigError, validate_config

from .common import run_ts_jobs

BASE = {**DEFAULT_CONFIG, "hidden": 6, "headHidden": 6, "layers": 3, "firstKernel": 5}
DROP = object()  # a field to remove from BASE


def cfg(**fields):
    return {k: v for k, v in {**BASE, **fields}.items() if v is not DROP}


def cond(**c):
    return cfg(conditioning=c)


ENC = {"type": "conv", "channels": [32, 64], "code": 16}
AE = cfg(conditioning={"type": "vector", "dim": 16, "nullable": True}, encoder=ENC)

# (what it is, config, valid?) -- the verdict is asserted too, so a table row cannot rot silently
TABLE = [
    ("the defaults", dict(DEFAULT_CONFIG), True),
    ("small gated", BASE, True),
    ("masked RGB", cfg(arch="masked", channels=3), True),
    ("not an object", 7, False),
    ("null", None, False),
    ("an array (TypeScript: an object without fields)", [], False),
    ("arch missing", cfg(arch=DROP), False),
    ("arch bad", cfg(arch="pixel"), False),
    ("height 1", cfg(height=1), False),
    ("height a string", cfg(height="28"), False),
    ("width missing", cfg(width=DROP), False),
    ("levels true", cfg(levels=True), False),
    ("hidden 0", cfg(hidden=0), False),
    ("hidden 2.5", cfg(hidden=2.5), False),
    ("layers null", cfg(layers=None), False),
    ("channels 2", cfg(channels=2), False),
    ("channels true (Python's True == 1)", cfg(channels=True), False),
    ("channels a list", cfg(channels=[1]), False),
    ("even first kernel", cfg(firstKernel=4), False),
    ("even kernel", cfg(kernel=2), False),
    ("hidden not a multiple of channels", cfg(channels=3, hidden=8, headHidden=6), False),
    ("headHidden not a multiple of channels", cfg(channels=3, hidden=6, headHidden=7), False),
    # dilations
    ("dilations good", cfg(dilations=[1, 2, 3]), True),
    ("dilations null", cfg(dilations=None), False),
    ("dilations too short", cfg(dilations=[1, 2]), False),
    ("dilations not a list", cfg(dilations="1,2,3"), False),
    ("dilation 0 after a hole (values first, then holes)", cfg(dilations=[1, 9, 0]), False),
    ("dilation 65", cfg(dilations=[1, 1, 65]), False),
    ("dilation a float", cfg(dilations=[1, 1.5, 1]), False),
    ("dilation a bool", cfg(dilations=[1, True, 1]), False),
    ("first dilation 2", cfg(dilations=[2, 1, 1]), False),
    ("a hole", cfg(dilations=[1, 2, 5]), False),
    # conditioning
    ("conditioning missing", cfg(conditioning=DROP), False),
    ("conditioning null", cfg(conditioning=None), False),
    ("conditioning a string", cfg(conditioning="none"), False),
    ("conditioning an array", cfg(conditioning=[]), False),
    ("conditioning type missing", cond(), False),
    ("conditioning type bad", cond(type="label"), False),
    ("class", cond(type="class", classes=10), True),
    ("class 1", cond(type="class", classes=1), False),
    ("class missing classes", cond(type="class"), False),
    ("class classes a string", cond(type="class", classes="10"), False),
    ("class classes true", cond(type="class", classes=True), False),
    ("vector", cond(type="vector", dim=5), True),
    ("vector dim 0", cond(type="vector", dim=0), False),
    ("vector dim missing", cond(type="vector"), False),
    ("none nullable", cond(type="none", nullable=True), False),
    ("none nullable false", cond(type="none", nullable=False), True),
    ("none with dropout", cond(type="none", dropout=0.5), False),
    ("none with dropout 0", cond(type="none", dropout=0), True),
    ("nullable class", cond(type="class", classes=10, nullable=True), True),
    ("nullable a string", cond(type="class", classes=10, nullable="yes"), False),
    ("nullable null", cond(type="class", classes=10, nullable=None), False),
    ("dropout without nullable", cond(type="class", classes=10, dropout=0.1), False),
    ("dropout 1 without nullable", cond(type="vector", dim=3, dropout=1), False),
    ("dropout with nullable false", cond(type="class", classes=10, nullable=False, dropout=0.25), False),
    ("dropout 1.5", cond(type="class", classes=10, nullable=True, dropout=1.5), False),
    ("dropout -0.1", cond(type="class", classes=10, nullable=True, dropout=-0.1), False),
    ("dropout a string", cond(type="class", classes=10, nullable=True, dropout="0.1"), False),
    ("dropout null", cond(type="class", classes=10, nullable=True, dropout=None), False),
    ("dropout with nullable", cond(type="vector", dim=3, nullable=True, dropout=0.1), True),
    ("spatial without spatialChannels", cond(type="vector", dim=3, spatial=True), False),
    ("spatial with spatialChannels 0", cfg(conditioning={"type": "class", "classes": 4, "spatial": True}, spatialChannels=0), False),
    ("spatial before nullable (order)", cond(type="class", classes=4, spatial=True, nullable="x"), False),
    ("spatial", cfg(conditioning={"type": "class", "classes": 4, "spatial": True}, spatialChannels=2), True),
    ("spatial false without spatialChannels", cond(type="class", classes=4, spatial=False), True),
    ("none spatial without spatialChannels", cond(type="none", spatial=True), True),
    # output
    ("softmax", cfg(output={"type": "softmax"}), True),
    ("logistic", cfg(output={"type": "logistic", "mixtures": 5}), True),
    ("output null", cfg(output=None), False),
    ("output a string", cfg(output="softmax"), False),
    ("output an array", cfg(output=[]), False),
    ("output type bad", cfg(output={"type": "gaussian"}), False),
    ("output type missing", cfg(output={}), False),
    ("logistic 0 mixtures", cfg(output={"type": "logistic", "mixtures": 0}), False),
    ("logistic 33 mixtures", cfg(output={"type": "logistic", "mixtures": 33}), False),
    ("logistic mixtures missing", cfg(output={"type": "logistic"}), False),
    ("encoder before output (order)", {**AE, "encoder": None, "output": None}, False),
    # the auto-encoder's encoder
    ("auto-encoder", AE, True),
    ("auto-encoder, spatial code map", {**AE, "conditioning": {"type": "vector", "dim": 16, "spatial": True}, "spatialChannels": 2}, True),
    *[(f"encoder {json.dumps(e)}", {**AE, "encoder": e}, False) for e in [
        None, [1], "conv", {**ENC, "type": "dense"}, {"channels": [4], "code": 16}, {**ENC, "channels": []},
        {**ENC, "channels": [1, 2, 3, 4, 5]}, {**ENC, "channels": [0]}, {**ENC, "channels": [513]}, {**ENC, "channels": [2.5]},
        {**ENC, "channels": ["8"]}, {**ENC, "channels": 8}, {**ENC, "channels": [True]}, {k: v for k, v in ENC.items() if k != "channels"},
        {**ENC, "code": 0}, {**ENC, "code": 1.5}, {**ENC, "code": "16"}, {**ENC, "code": None}, {**ENC, "code": True},
        {**ENC, "code": 15}, {k: v for k, v in ENC.items() if k != "code"}]],
    ("encoder on a class model", {**AE, "conditioning": {"type": "class", "classes": 16}}, False),
    ("encoder on an unconditional model", {**AE, "conditioning": {"type": "none"}}, False),
    # numbers in messages as JavaScript writes them
    ("a tiny float", cfg(height=1e-7), False),
    ("a small float", cfg(height=0.000001), False),
    ("a small negative float", cfg(levels=-0.0000012345), False),
    ("a negative float", cfg(width=-0.25), False),
    ("a non-ASCII string", cfg(arch="gäted"), False),
    ("a nested value", cfg(arch={"a": [1, None, True]}), False),
]
# Not in the table: integral floats such as "hidden": 32.0 (or 1.5e21). JSON hands TypeScript the
# number 32, which it takes; Python sees a float and refuses it rather than build float shapes.


def python_verdict(config) -> str | None:
    try:
        validate_config(config)
        return None
    except ConfigError as e:
        return str(e)


class ConfigParity(unittest.TestCase):
    def test_every_config_gets_typescripts_verdict_and_message(self):
        tmp = tempfile.mkdtemp()
        out = os.path.join(tmp, "messages.json")
        run_ts_jobs([{"kind": "validate", "configs": [c for _, c, _ in TABLE], "out": out}])
        with open(out) as f:
            theirs = json.load(f)
        self.assertEqual(len(theirs), len(TABLE))
        for (name, config, valid), msg in zip(TABLE, theirs):
            with self.subTest(name):
                self.assertEqual(python_verdict(config), msg)
                self.assertEqual(msg is None, valid, f"TypeScript says {msg!r}")
                if msg is not None:
                    self.assertEqual(len(msg.splitlines()), 1)
                    self.assertTrue(msg.startswith("config"), msg)

    def test_integral_floats_are_refused_in_python(self):
        """The one known difference (see the table's note), asserted so it cannot change unnoticed."""
        self.assertEqual(python_verdict(cfg(hidden=6.0)), "config.hidden: expected an integer >= 1, got 6.0")


if __name__ == "__main__":
    unittest.main()
