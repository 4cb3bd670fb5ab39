# Copyright 2026 The lfnet_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""lfnet-validate: the stereo set and the CLI on a reference method."""

import json

from lfnet_core.evaluation.features import make_extractor
from lfnet_training.validate import main, score_stereo


def test_stereo_set_scores_orb_between_zero_and_one():
    score = score_stereo(make_extractor('orb', 500, image_scale=0.5))
    assert 0.1 < score < 1.0


def test_cli_scores_a_reference_method_without_shared_data(tmp_path, capsys):
    out = tmp_path / 'scores.json'
    assert main(['--methods', 'orb', '--data', str(tmp_path / 'none'), '--top-k', '300',
                 '--json', str(out)]) == 0
    results = json.loads(out.read_text())['results']
    assert sorted(results) == ['orb', 'shipped']
    for scores in results.values():  # the held-out photos and Strecha are skipped, not faked
        assert sorted(scores) == ['mean', 'stereo'] and 0 < scores['stereo'] < 1
    assert 'photos set skipped' in capsys.readouterr().err
