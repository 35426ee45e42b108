// The animated barn (sample_video.h): the motion of every bird planned once, frame by frame,
// then each frame drawn with the still sample's drawing kit (sample_draw.h) over a background
// painted once.
#include "chickenseg/data/sample_video.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <optional>

#include "chickenseg/core/error.h"
#include "sample_draw.h"

namespace chickenseg {

using namespace sample_detail;

namespace {

constexpr double kPi = std::numbers::pi;
// The video's random stream: far from the still sample's (0 for the kinds, 1.. for the scenes),
// so a video and a sample of the same seed do not share their numbers.
constexpr uint64_t kVideoStream = 1ull << 40;

double wrap_angle(double a) {
    while (a > kPi) a -= 2 * kPi;
    while (a < -kPi) a += 2 * kPi;
    return a;
}

// A walking bird. Speeds are in units of its size per second, so that small images and small
// chicks move alike; times in seconds, so that the frame rate changes the sampling only.
struct Actor {
    ObjectPlan plan;
    int id = 0;  // chickens from 1; ducks 0
    bool chicken = true;
    double heading = 0, omega = 0;  // radians, radians per second
    double speed = 0, cruise = 1;   // sizes per second
    double stay_until = 1e300;      // then it heads for the nearest border and leaves
    double stop_until = -1;         // standing (a chicken pecks) until then
    double bob = 0;                 // walking sway phase
    double base_tilt = 0;
    bool leaving = false;
    int exit_side = 0;  // 0 left, 1 right, 2 bottom
    bool gone = false;
};

// One bird in one frame: which actor, where, in which pose.
struct Pose {
    int actor = 0;
    Placement at;
    int pose = 0;
};

}  // namespace

struct SampleVideo::Impl {
    SampleVideoParams params;
    Canvas background{1, 1};
    Light light;
    std::vector<ObjectPlan> statics;  // feeders and eggs, in place for the whole video
    std::vector<Actor> actors;        // every bird that was ever in view (their plans: look and size)
    std::vector<std::vector<Pose>> poses;
    int chickens = 0;

    double W() const { return params.width; }
    double H() const { return params.height; }
    void plan(SampleRng& rng, double horizon);
};

namespace {

// The planning state shared by the steps of SampleVideo::Impl::plan.
struct Planner {
    SampleRng& rng;
    double W, H, s0, horizon, dt;
    // The floor's top for a bird of `size` (its centre), and the band birds may walk in.
    double floor_top(double size) const { return std::max(horizon + 0.5 * size, 1.2 * size); }
    double floor_bottom(double size) const { return std::max(floor_top(size) + 1, H - 1.1 * size); }

    Actor make_actor(ObjectPlan plan, int id) const {
        Actor a;
        a.chicken = id > 0;
        a.id = id;
        a.plan = std::move(plan);
        a.plan.pose = 0;
        a.base_tilt = a.plan.at.tilt * 0.5;
        a.heading = a.plan.at.facing > 0 ? rng.uniform(-0.5, 0.5) : kPi + rng.uniform(-0.5, 0.5);
        a.cruise = a.chicken ? rng.uniform(0.8, 1.8) : rng.uniform(0.5, 1.0);
        a.speed = a.cruise;
        a.bob = rng.uniform(0, 2 * kPi);
        return a;
    }

    // A chicken walking in through the left, right or bottom border, turned inwards.
    Actor enter(ObjectPlan plan, int id, double t) const {
        Actor a = make_actor(std::move(plan), id);
        double size = a.plan.at.size;
        int side = rng.range(0, 2);
        double y = rng.uniform(floor_top(size), floor_bottom(size));
        if (side == 0) {
            a.plan.at.cx = -2.0 * size, a.plan.at.cy = y, a.heading = rng.uniform(-0.4, 0.4);
        } else if (side == 1) {
            a.plan.at.cx = W + 2.0 * size, a.plan.at.cy = y, a.heading = kPi + rng.uniform(-0.4, 0.4);
        } else {
            a.plan.at.cx = rng.uniform(std::min(2 * size, W / 2), std::max(W - 2 * size, W / 2));
            a.plan.at.cy = H + 1.8 * size;
            a.heading = -kPi / 2 + rng.uniform(-0.4, 0.4);
        }
        a.stay_until = t + rng.uniform(3, 10);
        return a;
    }

    // Where the bird wants to head: out through its exit when leaving, else back in when it is
    // near a border (or still outside); `has` false when it may wander freely.
    double wish(const Actor& a, bool& has) const {
        const Placement& at = a.plan.at;
        double margin = 1.8 * at.size;
        has = true;
        if (a.leaving) return a.exit_side == 0 ? kPi : a.exit_side == 1 ? 0.0 : kPi / 2;
        if (at.cx < margin) return 0.0;
        if (at.cx > W - margin) return kPi;
        if (at.cy > floor_bottom(at.size)) return -kPi / 2;
        if (at.cy < floor_top(at.size)) return kPi / 2;
        has = false;
        return 0;
    }

    void start_leaving(Actor& a) const {
        const Placement& at = a.plan.at;
        double left = at.cx, right = W - at.cx, bottom = H - at.cy;
        a.leaving = true;
        a.exit_side = left <= right && left <= bottom ? 0 : right <= bottom ? 1 : 2;
        a.stop_until = -1;
        a.cruise = std::max(a.cruise, 1.2);
    }

    // One time step of one bird: a smoothly wandering heading (random turning, damped, steered
    // towards its wish), stops to peck, a speed that changes gradually, the facing flipped only
    // when it clearly walks the other way, a slight sway while walking.
    void step(Actor& a, double t) const {
        Placement& at = a.plan.at;
        a.omega += rng.uniform(-1, 1) * 3.0 * dt;
        a.omega -= a.omega * std::min(1.0, 1.5 * dt);
        bool has = false;
        double wanted = wish(a, has);
        if (has) a.omega += 4.0 * wrap_angle(wanted - a.heading) * dt;
        a.omega = std::clamp(a.omega, -1.5, 1.5);
        a.heading = wrap_angle(a.heading + a.omega * dt);
        bool in_view = at.cx > 1.8 * at.size && at.cx < W - 1.8 * at.size && at.cy < H - 1.1 * at.size;
        if (!a.leaving && a.stop_until < t && in_view && rng.chance(0.15 * dt)) a.stop_until = t + rng.uniform(1, 3);
        bool stopped = a.stop_until >= t;
        double target = stopped ? 0.0 : a.cruise;
        double accel = 2.0 * dt;
        a.speed += std::clamp(target - a.speed, -accel, accel);
        double v = a.speed * at.size;
        at.cx += std::cos(a.heading) * v * dt;
        at.cy += std::sin(a.heading) * v * dt;
        double c = std::cos(a.heading);
        if (a.speed > 0.2 && c > 0.3) at.facing = 1;
        if (a.speed > 0.2 && c < -0.3) at.facing = -1;
        a.bob += a.speed * 2.5 * 2 * kPi * dt;
        at.tilt = a.base_tilt + 0.05 * std::min(1.0, a.speed) * std::sin(a.bob);
        a.plan.pose = stopped && a.chicken && a.speed < 0.3 ? 1 : 0;
        if (a.leaving && (at.cx < -2.6 * at.size || at.cx > W + 2.6 * at.size || at.cy > H + 2.2 * at.size))
            a.gone = true;
    }
};

}  // namespace

void SampleVideo::Impl::plan(SampleRng& rng, double horizon) {
    const double s0 = std::min(W(), H()) / 480.0;
    const double dt = 1.0 / params.fps;
    const double duration = params.frames * dt;
    SampleParams still;
    still.width = params.width;
    still.height = params.height;
    SceneBuilder b{still, rng, s0, horizon, {}};
    // Feeders and eggs first: they keep their places, the birds walk around and behind them.
    b.add_feeder(statics);
    if (rng.chance(0.4)) b.add_feeder(statics);
    if (rng.chance(0.6)) b.add_eggs(statics, rng.range(1, 3));
    Planner p{rng, W(), H(), s0, horizon, dt};
    // The birds in view at the start: one or two ducks, two or three chickens.
    int ducks = rng.range(1, 2);
    for (int i = 0; i < ducks; ++i) {
        ObjectPlan o = bird_plan(rng, Creature::duck, "duck", s0);
        if (b.place(1.9 * o.at.size, 1.6 * o.at.size, false, 0.2, o.at.cx, o.at.cy))
            actors.push_back(p.make_actor(std::move(o), 0));
    }
    int first = rng.range(std::min(2, params.max_chickens), std::min(3, params.max_chickens));
    for (int i = 0; i < first; ++i) {
        Creature creature;
        std::string label = chicken_kind(rng, creature);
        ObjectPlan o = bird_plan(rng, creature, label, s0);
        if (b.place(1.9 * o.at.size, 1.6 * o.at.size, false, 0.3, o.at.cx, o.at.cy)) {
            actors.push_back(p.make_actor(std::move(o), ++chickens));
            actors.back().stay_until = rng.uniform(2, 9);
        }
    }
    // Once per video (of 6 s or more) every chicken leaves, and none comes back for a while:
    // "no chicken" frames, with only ducks, feeders and eggs in view.
    double quiet_at = duration >= 6 ? duration * rng.uniform(0.35, 0.5) : 1e300;
    double quiet_for = std::clamp(duration * 0.1, 1.0, 4.0);
    double quiet_until = 1e300;  // set once the last chicken has left
    const double arrivals_per_second = 0.5;
    poses.resize(static_cast<size_t>(params.frames));
    for (int f = 0; f < params.frames; ++f) {
        const double t = f * dt;
        int present = 0;
        for (const auto& a : actors) present += a.chicken && !a.gone;
        bool clearing = t >= quiet_at && t < quiet_until;
        if (clearing && present == 0 && quiet_until > 1e299) quiet_until = t + quiet_for;
        if (clearing)
            for (auto& a : actors)
                if (a.chicken && !a.gone && !a.leaving) p.start_leaving(a);
        if (!clearing && present < params.max_chickens && rng.chance(arrivals_per_second * dt)) {
            Creature creature;
            std::string label = chicken_kind(rng, creature);
            actors.push_back(p.enter(bird_plan(rng, creature, label, s0), ++chickens, t));
        }
        for (size_t i = 0; i < actors.size(); ++i) {
            Actor& a = actors[i];
            if (a.gone) continue;
            if (a.chicken && !a.leaving && t >= a.stay_until) p.start_leaving(a);
            if (f > 0) p.step(a, t);
            if (!a.gone) poses[static_cast<size_t>(f)].push_back({static_cast<int>(i), a.plan.at, a.plan.pose});
        }
    }
}

SampleVideoParams sample_video_default_params() { return {}; }

void check_sample_video_params(const SampleVideoParams& p) {
    if (p.frames < 1 || p.frames > 100000)
        throw Error("--frames must be between 1 and 100000, got " + std::to_string(p.frames));
    if (!(p.fps >= 1 && p.fps <= 240)) throw Error("--fps must be between 1 and 240, got " + std::to_string(p.fps));
    if (p.width < 64 || p.height < 64 || p.width > 4096 || p.height > 4096)
        throw Error("--size must be between 64x64 and 4096x4096, got " + std::to_string(p.width) + "x" +
                    std::to_string(p.height));
    if (p.max_chickens < 1 || p.max_chickens > 20)
        throw Error("max_chickens must be between 1 and 20, got " + std::to_string(p.max_chickens));
}

SampleVideo::SampleVideo(const SampleVideoParams& params) : impl_(std::make_unique<Impl>()) {
    check_sample_video_params(params);
    impl_->params = params;
    SampleRng rng(mix_seed(params.seed, kVideoStream));
    impl_->background = Canvas(params.width, params.height);
    double horizon = 0;
    // Painted even without pictures: the floor's top (horizon) and the random draws after it
    // must be the same, so the ground truth is the same with and without pictures.
    paint_background(impl_->background, rng, horizon);
    impl_->light = draw_light(rng, params.width, params.height);
    impl_->plan(rng, horizon);
}

SampleVideo::~SampleVideo() = default;

const SampleVideoParams& SampleVideo::params() const { return impl_->params; }
int SampleVideo::chickens() const { return impl_->chickens; }

namespace {

const char* category_of(const ObjectPlan& o) {
    switch (o.type) {
        case ObjectPlan::Type::egg:
            return "egg";
        case ObjectPlan::Type::trough:
        case ObjectPlan::Type::hanging_feeder:
            return "feeder";
        case ObjectPlan::Type::bird:
            return o.creature == Creature::duck ? "duck" : "chicken";
    }
    return "?";
}

}  // namespace

SampleVideoFrame SampleVideo::frame(int index) const {
    const Impl& m = *impl_;
    if (index < 0 || index >= m.params.frames)
        throw Error("sample video frame " + std::to_string(index) + " out of range 0.." +
                    std::to_string(m.params.frames - 1));
    SampleVideoFrame out;
    out.index = index;
    out.time = index / m.params.fps;
    // The frame's objects with their ids; nearer (lower) ones are drawn last, over farther ones,
    // feeders and eggs before birds at the same height (stable sort).
    std::vector<std::pair<ObjectPlan, int>> plans;
    for (const auto& o : m.statics) plans.emplace_back(o, 0);
    for (const Pose& pose : m.poses[static_cast<size_t>(index)]) {
        const Actor& a = m.actors[static_cast<size_t>(pose.actor)];
        ObjectPlan o = a.plan;
        o.at = pose.at;
        o.pose = pose.pose;
        plans.emplace_back(std::move(o), a.id);
    }
    std::stable_sort(plans.begin(), plans.end(),
                     [](const auto& a, const auto& b) { return a.first.at.cy < b.first.at.cy; });
    const uint32_t W = m.params.width, H = m.params.height;
    std::optional<Canvas> canvas;
    if (m.params.pictures) canvas = m.background;
    // Which object each pixel shows: the last one drawn over it.
    std::vector<uint16_t> owner(static_cast<size_t>(W) * H, 0);
    std::vector<size_t> area(plans.size(), 0);
    std::vector<Polygon> outlines;
    for (size_t i = 0; i < plans.size(); ++i) {
        const ObjectPlan& o = plans[i].first;
        outlines.push_back(canvas ? draw_plan(*canvas, o) : plan_outline(o));
        for_each_pixel_in_polygon(outlines.back(), W, H, [&](int x, int y) {
            owner[static_cast<size_t>(y) * W + static_cast<size_t>(x)] = static_cast<uint16_t>(i + 1);
            ++area[i];
        });
    }
    std::vector<size_t> visible(plans.size() + 1, 0);
    for (uint16_t v : owner) ++visible[v];
    for (size_t i = 0; i < plans.size(); ++i) {
        const ObjectPlan& o = plans[i].first;
        SampleVideoObject obj;
        obj.silhouette = clip_polygon_to_rect(outlines[i], W, H);
        // The still sample's rule: an object with almost nothing left in the image is not annotated.
        if (obj.silhouette.size() < 6 || polygon_area(obj.silhouette) < 16.0) continue;
        obj.id = plans[i].second;
        obj.label = o.label;
        obj.category = category_of(o);
        obj.bbox = polygons_bbox({obj.silhouette});
        obj.visibility = area[i] ? static_cast<double>(visible[i + 1]) / static_cast<double>(area[i]) : 0.0;
        BoxXywh full = polygons_bbox({outlines[i]});
        obj.cut_at_border = full[0] < 0 || full[1] < 0 || full[0] + full[2] > W || full[1] + full[3] > H;
        out.objects.push_back(std::move(obj));
    }
    if (canvas) {
        // The same light in every frame; the sensor noise is new in each.
        Light light = m.light;
        light.noise_salt = static_cast<uint32_t>(mix_seed(m.light.noise_salt, static_cast<uint64_t>(index)));
        paint_light(*canvas, light);
        out.image = canvas->to_image();
    }
    return out;
}

}  // namespace chickenseg
