// One synthetic barn scene: which objects a scene of each kind holds and where (the drawing
// itself is sample_draw.cpp's, shared with the animated barn), then the annotation of what
// stayed in the image, in the shape an annotator would have drawn.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "chickenseg/core/error.h"
#include "chickenseg/data/sample.h"
#include "sample_draw.h"

namespace chickenseg {

using namespace sample_detail;

const char* scene_kind_name(SceneKind k) {
    switch (k) {
        case SceneKind::positive:
            return "positive";
        case SceneKind::hard_negative:
            return "hard_negative";
        case SceneKind::ambiguous:
            return "ambiguous";
    }
    return "?";
}

namespace {

bool has_visible_chicken(const SampleScene& scene) {
    for (const auto& o : scene.objects)
        if (o.label != "egg" && o.label != "feeder" && o.label != "duck") return true;
    return false;
}

// The objects of each kind of scene. The random draws happen in a fixed order: the same
// seed must give the same dataset.
void plan_positive(SceneBuilder& b, SampleRng& rng, std::vector<ObjectPlan>& plans, bool keep_first_chicken_whole) {
    double r = rng.uniform();
    int n = r < 0.35 ? 1 : r < 0.7 ? 2 : r < 0.9 ? 3 : 4;
    for (int i = 0; i < n; ++i) {
        Creature creature;
        std::string label = chicken_kind(rng, creature);
        bool cut = rng.chance(0.2) && !(keep_first_chicken_whole && i == 0);
        size_t before = plans.size();
        b.add_bird(plans, creature, label, cut, 0.3);
        // The first chicken must exist: retry without the border cut and without overlap limits.
        if (i == 0 && plans.size() == before) b.add_bird(plans, creature, label, false, 1.0);
    }
    if (rng.chance(0.3)) b.add_eggs(plans, rng.range(1, 3));
    if (rng.chance(0.25)) b.add_feeder(plans);
    if (rng.chance(0.1)) b.add_bird(plans, Creature::duck, "duck", false, 0.1);
}

// Things a model could mistake for chickens, never a chicken.
void plan_hard_negative(SceneBuilder& b, SampleRng& rng, std::vector<ObjectPlan>& plans) {
    double r = rng.uniform();
    if (r < 0.25) {
        // Straw only.
    } else if (r < 0.45) {
        b.add_feeder(plans);
        if (rng.chance(0.4)) b.add_feeder(plans);
    } else if (r < 0.65) {
        b.add_eggs(plans, rng.range(2, 5));
    } else if (r < 0.85) {
        int n = rng.range(1, 2);
        for (int i = 0; i < n; ++i) b.add_bird(plans, Creature::duck, "duck", rng.chance(0.2), 0.2);
    } else {
        b.add_feeder(plans);
        b.add_eggs(plans, rng.range(1, 3));
        b.add_bird(plans, Creature::duck, "duck", false, 0.2);
    }
}

void plan_ambiguous(SceneBuilder& b, SampleRng& rng, std::vector<ObjectPlan>& plans) {
    b.add_bird(plans, Creature::unknown_bird, "unknown bird", false, 0.2);
    if (plans.empty()) b.add_bird(plans, Creature::unknown_bird, "unknown bird", false, 1.0);
    if (rng.chance(0.3)) b.add_eggs(plans, 1);
}

// The shape an annotator would have drawn: mostly polygons, some rectangles and (for chicks)
// circles, so the readers see every LabelMe shape type.
void choose_annotation_shape(SampleObject& obj, const ObjectPlan& o, double W, double H, SampleRng& rng) {
    BoxXywh box = polygons_bbox({obj.silhouette});
    bool chicken = o.type == ObjectPlan::Type::bird &&
                   (o.creature == Creature::hen || o.creature == Creature::rooster || o.creature == Creature::chick);
    double r = rng.uniform();
    double cx = box[0] + box[2] / 2, cy = box[1] + box[3] / 2, radius = std::max(box[2], box[3]) / 2;
    bool circle_fits = cx - radius >= 0 && cy - radius >= 0 && cx + radius <= W && cy + radius <= H;
    if (o.type == ObjectPlan::Type::trough || (chicken && r < 0.12)) {
        // Annotators often just drag a box; LabelMe stores two opposite corners in any order.
        obj.shape_type = SampleShapeType::rectangle;
        obj.outline = box_to_polygon(box);
        double x0 = box[0], y0 = box[1], x1 = box[0] + box[2], y1 = box[1] + box[3];
        int order = rng.range(0, 2);
        if (order == 0)
            obj.points = {x0, y0, x1, y1};
        else if (order == 1)
            obj.points = {x1, y1, x0, y0};
        else
            obj.points = {x1, y0, x0, y1};
    } else if (o.creature == Creature::chick && chicken && circle_fits && r < 0.5) {
        obj.shape_type = SampleShapeType::circle;
        obj.outline = circle_to_polygon(cx, cy, radius);
        obj.points = {cx, cy, cx + radius, cy};
    } else {
        obj.shape_type = SampleShapeType::polygon;
        obj.outline = obj.silhouette;
        obj.points = obj.silhouette;
    }
}

// Draws the plans and records what is visible of each; objects that left the image are
// drawn but not annotated.
void draw_and_annotate(const std::vector<ObjectPlan>& plans, Canvas& canvas, const SampleParams& params, SampleRng& rng,
                       SampleScene& scene) {
    const double W = params.width, H = params.height;
    for (const auto& o : plans) {
        Polygon drawn = draw_plan(canvas, o);
        SampleObject obj;
        obj.label = o.label;
        obj.silhouette = clip_polygon_to_rect(drawn, W, H);
        if (obj.silhouette.size() < 6 || polygon_area(obj.silhouette) < 16.0) continue;  // left the image
        BoxXywh full = polygons_bbox({drawn});
        obj.cut_at_border = full[0] < 0 || full[1] < 0 || full[0] + full[2] > W || full[1] + full[3] > H;
        choose_annotation_shape(obj, o, W, H, rng);
        scene.objects.push_back(std::move(obj));
    }
}

// One rendering of the scene. `keep_first_chicken_whole`: the first chicken of a positive scene
// is not placed across the border (the second try, for a scene whose chickens all left it).
SampleScene render_scene_once(const SampleParams& params, int index, SceneKind kind, bool keep_first_chicken_whole) {
    SampleRng rng(mix_seed(params.seed, static_cast<uint64_t>(index) + 1));
    SampleScene scene;
    char stem[32];
    std::snprintf(stem, sizeof stem, "barn_%04d", index + 1);
    scene.stem = stem;
    scene.kind = kind;
    scene.jpeg = rng.chance(0.2);
    Canvas canvas(params.width, params.height);
    double horizon = 0;
    paint_background(canvas, rng, horizon);
    SceneBuilder b{params, rng, std::min(params.width, params.height) / 480.0, horizon, {}};

    std::vector<ObjectPlan> plans;
    if (kind == SceneKind::positive)
        plan_positive(b, rng, plans, keep_first_chicken_whole);
    else if (kind == SceneKind::hard_negative)
        plan_hard_negative(b, rng, plans);
    else
        plan_ambiguous(b, rng, plans);
    if (plans.empty() && kind != SceneKind::hard_negative)
        throw Error("the sample size " + std::to_string(params.width) + "x" + std::to_string(params.height) +
                    " leaves no room for an object in scene " + scene.stem);

    // Nearer (lower) objects are drawn last, over farther ones.
    std::stable_sort(plans.begin(), plans.end(),
                     [](const ObjectPlan& a, const ObjectPlan& b) { return a.at.cy < b.at.cy; });
    draw_and_annotate(plans, canvas, params, rng, scene);
    if (kind == SceneKind::positive && !has_visible_chicken(scene)) {
        scene.objects.clear();  // the caller tries again
        return scene;
    }
    scene.write_empty_annotation = rng.chance(0.5);
    paint_light_and_noise(canvas, rng);
    scene.image = canvas.to_image();
    return scene;
}

}  // namespace

SampleScene render_sample_scene(const SampleParams& params, int index, SceneKind kind) {
    SampleScene scene = render_scene_once(params, index, kind, false);
    // A positive scene whose chickens were all placed across the border and cut away (small
    // images): drawn again with its first chicken whole. Scenes that had one are unchanged.
    if (kind == SceneKind::positive && !has_visible_chicken(scene)) {
        scene = render_scene_once(params, index, kind, true);
        if (!has_visible_chicken(scene))  // not reachable for the accepted sizes (tested over the range)
            throw Error("internal error: positive scene " + scene.stem + " has no visible chicken at " +
                        std::to_string(params.width) + "x" + std::to_string(params.height));
    }
    return scene;
}

}  // namespace chickenseg
