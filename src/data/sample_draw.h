// Private drawing kit of the sample generators: the still scenes (sample_scene.cpp) and the
// animated barn (sample_video.cpp) plan their objects as ObjectPlans and draw them with the
// same code, so a chicken in the video is the same chicken as in a still scene, and the
// outline polygon drawn is the annotation.
#pragma once

#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "chickenseg/data/sample.h"
#include "sample_canvas.h"

namespace chickenseg::sample_detail {

// The smallest bird drawn, in pixels (its `size`): below it a chick in a 64-pixel image has a
// silhouette of a few pixels, which the scene then drops as having left the image. At 320x240
// and above no bird is this small, so those samples are unchanged by it.
inline constexpr double kMinBirdPixels = 8.0;

// Local frame -> image: scale, tilt, mirror for the facing direction, translate.
struct Placement {
    double cx = 0, cy = 0, size = 1, tilt = 0;
    int facing = 1;  // +1 faces right, -1 faces left
    std::array<double, 2> apply(double lx, double ly) const {
        double x = lx * size, y = ly * size;
        double rx = x * std::cos(tilt) - y * std::sin(tilt);
        double ry = x * std::sin(tilt) + y * std::cos(tilt);
        return {cx + facing * rx, cy + ry};
    }
    Polygon apply(const Polygon& local) const {
        Polygon out;
        out.reserve(local.size());
        for (size_t i = 0; i + 1 < local.size(); i += 2) {
            auto p = apply(local[i], local[i + 1]);
            out.push_back(p[0]);
            out.push_back(p[1]);
        }
        return out;
    }
};

enum class Creature { hen, rooster, chick, duck, unknown_bird };

struct BirdLook {
    Rgb body, wing, tail, head, beak, comb, legs;
    bool comb_visible = true;
};

struct ObjectPlan {
    enum class Type { bird, egg, trough, hanging_feeder } type = Type::bird;
    Creature creature = Creature::hen;
    std::string label;
    Placement at;
    int pose = 0;  // birds: 0 standing, 1 pecking, 2 resting
    BirdLook look;
    Rgb colour{};         // eggs, feeders
    double w = 0, h = 0;  // troughs: size in pixels
};

// Draws the object; returns its outline (image coordinates, unclipped), the annotation.
Polygon draw_plan(Canvas& canvas, const ObjectPlan& o);
// The same outline without drawing (ground truth without pictures).
Polygon plan_outline(const ObjectPlan& o);

// Wooden wall (70% of scenes) over a straw floor; `horizon` is where the floor starts (0: none).
void paint_background(Canvas& c, SampleRng& rng, double& horizon);

// Light fall-off from one point and sensor noise, over everything.
struct Light {
    double x = 0, y = 0, strength = 0;
    uint32_t noise_salt = 0;  // a new salt is a new noise pattern (a video's next frame)
};
Light draw_light(SampleRng& rng, uint32_t width, uint32_t height);
void paint_light(Canvas& c, const Light& light);
inline void paint_light_and_noise(Canvas& c, SampleRng& rng) { paint_light(c, draw_light(rng, c.width(), c.height())); }

BirdLook chicken_look(SampleRng& rng, Creature creature);
BirdLook duck_look(SampleRng& rng);
// A chicken's kind and the label an annotator gave it ("chicken", "Chicken", "hen", "rooster", "chick").
std::string chicken_kind(SampleRng& rng, Creature& creature);
// A bird of `creature` with its size (s0: pixels per unit of a 480-pixel image), facing, tilt,
// pose and look drawn from rng; not placed yet.
ObjectPlan bird_plan(SampleRng& rng, Creature creature, std::string label, double s0);

// Places objects in a scene without hiding one behind another.
struct SceneBuilder {
    const SampleParams& params;
    SampleRng& rng;
    double s0;  // pixels per unit of a 480-pixel image
    double horizon;
    std::vector<std::array<double, 4>> boxes;  // x0, y0, x1, y1 of objects placed so far

    double W() const { return params.width; }
    double H() const { return params.height; }

    // Finds a free spot for an object of half-extent (hw, hh): overlaps with earlier
    // objects are allowed up to `max_overlap` of the smaller box (some chickens
    // overlap, none is hidden). `allow_cut`: the centre may be placed so that part of
    // the object leaves the image (at most ~half of it).
    bool place(double hw, double hh, bool allow_cut, double max_overlap, double& cx, double& cy) {
        double floor_top = std::max(horizon + hh * 0.3, hh);
        for (int attempt = 0; attempt < 40; ++attempt) {
            if (allow_cut) {
                int side = rng.range(0, 2);  // left, right, bottom
                cx = side == 0   ? rng.uniform(-0.3, 0.4) * hw
                     : side == 1 ? W() - rng.uniform(-0.3, 0.4) * hw
                                 : rng.uniform(hw, W() - hw);
                cy = side == 2 ? H() - rng.uniform(-0.3, 0.4) * hh : rng.uniform(floor_top, H() - hh);
            } else {
                if (W() < 2 * hw + 2 || H() - floor_top < hh + 1) return false;
                cx = rng.uniform(hw + 1, W() - hw - 1);
                cy = rng.uniform(floor_top, H() - hh - 1);
            }
            std::array<double, 4> b{cx - hw, cy - hh, cx + hw, cy + hh};
            bool ok = true;
            for (const auto& o : boxes) {
                double ix = std::max(0.0, std::min(b[2], o[2]) - std::max(b[0], o[0]));
                double iy = std::max(0.0, std::min(b[3], o[3]) - std::max(b[1], o[1]));
                double smaller = std::min((b[2] - b[0]) * (b[3] - b[1]), (o[2] - o[0]) * (o[3] - o[1]));
                if (ix * iy > max_overlap * smaller) ok = false;
            }
            if (ok) {
                boxes.push_back(b);
                return true;
            }
        }
        return false;
    }

    void add_bird(std::vector<ObjectPlan>& plans, Creature creature, std::string label, bool allow_cut,
                  double max_overlap) {
        ObjectPlan o = bird_plan(rng, creature, std::move(label), s0);
        if (!place(1.9 * o.at.size, 1.6 * o.at.size, allow_cut, max_overlap, o.at.cx, o.at.cy)) return;
        plans.push_back(o);
    }

    void add_eggs(std::vector<ObjectPlan>& plans, int count) {
        double size = rng.uniform(11, 16) * s0;
        double cx, cy;
        // A nest: eggs clustered around one spot.
        if (!place(size * 3, size * 2.2, false, 0.2, cx, cy)) return;
        for (int i = 0; i < count; ++i) {
            ObjectPlan o;
            o.type = ObjectPlan::Type::egg;
            o.label = "egg";
            o.at.size = size * rng.uniform(0.9, 1.1);
            o.at.cx = cx + (i - (count - 1) / 2.0) * size * 1.45 + rng.uniform(-2, 2) * s0;
            o.at.cy = cy + (i % 2) * size * 0.5 + rng.uniform(-2, 2) * s0;
            o.at.tilt = rng.uniform(-0.6, 0.6);
            o.colour = rng.chance(0.5) ? Rgb{240, 234, 220} : Rgb{190, 135, 85};
            plans.push_back(o);
        }
    }

    void add_feeder(std::vector<ObjectPlan>& plans) {
        ObjectPlan o;
        o.label = "feeder";
        o.colour = {rng.uniform(140, 165), rng.uniform(145, 170), rng.uniform(150, 175)};
        if (rng.chance(0.6)) {
            o.type = ObjectPlan::Type::trough;
            o.w = rng.uniform(120, 220) * s0;
            o.h = rng.uniform(28, 48) * s0;
            if (!place(o.w / 2, o.h / 2, false, 0.1, o.at.cx, o.at.cy)) return;
        } else {
            o.type = ObjectPlan::Type::hanging_feeder;
            o.at.size = rng.uniform(40, 60) * s0;
            double cx, cy;
            if (!place(o.at.size, o.at.size * 1.05, false, 0.1, cx, cy)) return;
            o.at.cx = cx;
            o.at.cy = cy + o.at.size * 0.4;
        }
        plans.push_back(o);
    }
};

}  // namespace chickenseg::sample_detail
