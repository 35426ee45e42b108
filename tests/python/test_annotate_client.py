"""The simulated annotator (python/chickenseg_model/annotate_client.py) on its own, without a
server: how it reads the sample's truth and what it decides to save for one image. The whole
review through `chickenseg annotate`'s HTTP API runs in test_active_learning_cycle.py."""
import json
from pathlib import Path

from chickenseg_model.annotate_client import Labels, correction, is_ambiguous, truth_shapes

LABEL_MAP = """concept: chicken
synonyms: [Chicken, hen, rooster, chick]
background: [egg, feeder, duck]
ambiguous: ["unknown bird"]
"""


def labelme(path: Path, shapes, width=100, height=80):
    path.write_text(json.dumps({"version": "5.11.4", "flags": {}, "shapes": shapes, "imagePath": path.stem + ".png",
                                "imageData": None, "imageWidth": width, "imageHeight": height}))
    return path


def shape(label, points, shape_type="polygon", group_id=None):
    return {"label": label, "points": points, "shape_type": shape_type, "group_id": group_id, "flags": {}}


def square(x, y, size=20):
    return [x, y, x + size, y, x + size, y + size, x, y + size]


def model_shape(flat):
    return {"label": "chicken", "group_id": 1, "description": "score 0.90", "flags": {}, "polygons": [flat]}


def test_truth_shapes_reads_chickens_only_as_clamped_polygons(tmp_path):
    (tmp_path / "label_map.yaml").write_text(LABEL_MAP)
    labels = Labels(tmp_path / "label_map.yaml")
    assert labels.chicken == {"chicken", "Chicken", "hen", "rooster", "chick"}
    assert labels.ambiguous == {"unknown bird"}
    f = labelme(tmp_path / "a.json", [
        shape("hen", [[10, 10], [30, 10], [30, 30]]),
        shape("egg", [[50, 50], [55, 50], [55, 55]]),
        shape(" rooster ", [[90, 70], [120, 90]], "rectangle", group_id=3),  # cut by the border
        shape("chick", [[40, 40], [45, 40]], "circle"),
    ])
    shapes, w, h = truth_shapes(f, labels.chicken)
    assert (w, h) == (100, 80)
    assert [len(s["polygons"][0]) for s in shapes] == [6, 8, 64]  # triangle, rectangle corners, 32-gon
    assert shapes[1]["polygons"][0] == [90, 70, 100.0, 70, 100.0, 80.0, 90, 80.0]
    assert shapes[1]["group_id"] == 3 and all(s["label"] == "chicken" for s in shapes)
    assert all(0 <= c <= 100 for s in shapes for c in s["polygons"][0])
    assert truth_shapes(tmp_path / "missing.json", labels.chicken) == ([], None, None)
    assert not is_ambiguous(f, labels)
    assert is_ambiguous(labelme(tmp_path / "b.json", [shape("unknown bird", [[1, 1], [5, 1], [5, 5]])]), labels)
    assert not is_ambiguous(tmp_path / "missing.json", labels)


def test_correction_keeps_what_overlaps_deletes_the_rest_adds_what_was_missed():
    truth = [{"label": "chicken", "group_id": 2, "description": "truth", "flags": {}, "polygons": [square(10, 10)]},
             {"label": "chicken", "group_id": None, "description": "truth", "flags": {}, "polygons": [square(60, 40)]}]
    good = model_shape(square(11, 11))        # IoU with the first chicken ~0.82
    duplicate = model_shape(square(12, 12))   # the same chicken again: only one mask per chicken is kept
    ghost = model_shape(square(70, 5, 8))     # no chicken there
    ann = {"shapes": [good, duplicate, ghost], "flags": {"unstable_mask": True}}
    shapes, flags, counts = correction(ann, truth, 100, 80)
    assert counts == {"kept": 1, "deleted": 2, "added": 1}
    assert shapes[0] is good
    assert shapes[1]["polygons"] == [square(60, 40)] and shapes[1]["group_id"] is None
    assert flags == {"unstable_mask": True}
    # A truth group id moves clear of the model's ids (never joins a kept mask's object).
    shapes, _, _ = correction({"shapes": [], "flags": {}}, truth, 100, 80)
    assert [s["group_id"] for s in shapes] == [10002, None]


def test_correction_of_an_image_without_chickens_is_a_confirmed_negative():
    ann = {"shapes": [model_shape(square(5, 5))], "flags": {"ambiguous_presence": True}}
    shapes, flags, counts = correction(ann, [], None, None)
    assert shapes == [] and flags == {"ambiguous_presence": True, "confirmed_negative": True}
    assert counts == {"kept": 0, "deleted": 1, "added": 0}
