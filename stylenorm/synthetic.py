"""The embedded default: procedural street scenes in three styles over one content distribution.

A scene is composed once as a list of draw operations in a simple pinhole-camera
world (ground plane, road, sidewalks, facades, trees, poles, vehicles, people),
drawn far to near. The same operations rasterise two things:

* the label map, in Cityscapes label ids (0..33, void ids included), and
* an image, through a *style*: ``real`` (muted palette, soft lighting, blur,
  sensor noise, vignetting, low contrast -- Cityscapes-like), ``game``
  (saturated palette, flat shading, hard edges, warm directional light -- GTA5-like) or
  ``render`` (pastel palette, flat ambient light, cool cast, soft edges, no noise -- SYNTHIA-like),

and, for fog, each pixel's distance from the camera in metres (``scene(..., distance=True)``; ``add_fog``). A ``Viewpoint``
sets the camera's height and pitch range (a car's, or SYNTHIA's higher random viewpoints).
Each domain module (``stylenorm/domains/``) writes a pool of scenes in its dataset's *native*
layout and label encoding with ``write_pool``, so the real loaders read them. Everything is
deterministic from the seed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from stylenorm.labels import LABEL_ID
from stylenorm.parallel import worker_map

STYLES = ("real", "game", "render")
FAR = 400.0  # metres: where the ground plane ends (and the depth of what lies beyond it)


@dataclass(frozen=True)
class Viewpoint:
    """The camera's range: height above the road and where the horizon lies in the image."""
    height: tuple[float, float] = (1.3, 1.7)  # metres (a car's roof camera)
    horizon: tuple[float, float] = (0.40, 0.48)  # fraction of the image height from the top


CAR = Viewpoint()


# ----------------------------------------------------------------------------- scene composition
@dataclass(frozen=True)
class Op:
    """One primitive. ``label`` is a Cityscapes label name, or None for paint-only decoration."""

    kind: str  # "polygon" | "ellipse" | "rect"
    xy: tuple  # polygon: ((x, y), ...); ellipse/rect: (x0, y0, x1, y1)
    label: str | None
    material: str
    tint: tuple[float, float, float]  # per-instance appearance jitter in [-1, 1]
    # Its distance from the camera: ("z", metres) for a face at one depth, ("x", lateral metres) for
    # a vertical face in the plane X = x (depth varies along it), ("ground",) for the road plane,
    # ("sky",) for the sky.
    depth: tuple = ("sky",)


class _Camera:
    def __init__(self, width: int, height: int, rng: np.random.Generator, view: Viewpoint = CAR):
        self.w, self.h = width, height
        self.f = width * rng.uniform(0.95, 1.1)  # focal length, pixels
        self.cx = width * rng.uniform(0.45, 0.55)
        self.horizon = height * rng.uniform(*view.horizon)
        self.cam_h = rng.uniform(*view.height)  # metres above the road

    def depth(self, op: "Op", ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
        """Distance along the optical axis (metres) of an op's pixels at rows ys, columns xs."""
        kind = op.depth[0]
        if kind == "z":
            return np.full(ys.shape, float(op.depth[1]), dtype=np.float32)
        if kind == "x":  # u = cx + f x / z  =>  z = f x / (u - cx)
            du = xs + 0.5 - self.cx
            with np.errstate(divide="ignore", invalid="ignore"):
                z = self.f * float(op.depth[1]) / du
            return np.where(z > 0, np.clip(z, 0.5, FAR), FAR).astype(np.float32)
        if kind == "ground":  # v = horizon + f h / z  =>  z = f h / (v - horizon)
            dv = ys + 0.5 - self.horizon
            with np.errstate(divide="ignore"):
                z = self.f * self.cam_h / dv
            return np.where(dv > 0, np.clip(z, 0.5, FAR), FAR).astype(np.float32)
        return np.full(ys.shape, np.inf, dtype=np.float32)  # sky

    def point(self, x: float, y_up: float, z: float) -> tuple[float, float]:
        z = max(z, 0.5)
        return (self.cx + self.f * x / z, self.horizon + self.f * (self.cam_h - y_up) / z)

    def box(self, x0: float, y0: float, x1: float, y1: float, z: float) -> tuple[float, float, float, float]:
        """Image-space corners (left, top, right, bottom) of a camera-facing box at depth z."""
        return (*self.point(x0, y0, z), *self.point(x1, y1, z))

    def quad_x(self, x: float, y0: float, y1: float, z0: float, z1: float):
        """A vertical face in the plane X = x, from depth z0 to z1, heights y0..y1."""
        return (self.point(x, y0, z0), self.point(x, y0, z1), self.point(x, y1, z1), self.point(x, y1, z0))

    def quad_z(self, x0: float, x1: float, y0: float, y1: float, z: float):
        """A face facing the camera at depth z."""
        return (self.point(x0, y0, z), self.point(x1, y0, z), self.point(x1, y1, z), self.point(x0, y1, z))

    def ground(self, x0: float, x1: float, z0: float, z1: float):
        """A patch of the road plane between lateral x0..x1 and depths z0..z1."""
        return (self.point(x0, 0, z0), self.point(x1, 0, z0), self.point(x1, 0, z1), self.point(x0, 0, z1))


def _tint(rng: np.random.Generator) -> tuple[float, float, float]:
    return tuple(float(v) for v in rng.uniform(-1, 1, 3))


def compose_scene(rng: np.random.Generator, width: int, height: int, view: Viewpoint = CAR) -> list[Op]:
    """Draw operations for one street scene, far to near."""
    return _compose(rng, width, height, view)[0]


def _compose(rng: np.random.Generator, width: int, height: int, view: Viewpoint) -> tuple[list[Op], _Camera]:
    cam = _Camera(width, height, rng, view)
    ops: list[Op] = []
    add = lambda kind, xy, label, material, tint=None, depth=("ground",): ops.append(  # noqa: E731
        Op(kind, tuple(xy), label, material, tint if tint is not None else _tint(rng), depth))

    near, far = 1.0, FAR
    road_w = rng.uniform(7.0, 14.0)
    road_c = rng.uniform(-2.0, 2.0)
    xl, xr = road_c - road_w / 2, road_c + road_w / 2
    sw_l, sw_r = rng.uniform(2.0, 4.5, 2)

    # Sky, then a distant skyline band, then the ground plane.
    add("rect", (0, 0, width, height), "sky", "sky", depth=("sky",))
    skyline_z = 180.0
    x = -120.0
    while x < 120.0:
        seg = rng.uniform(6, 25)
        label = "building" if rng.random() < 0.6 else "vegetation"
        top = rng.uniform(5, 40) if label == "building" else rng.uniform(4, 12)
        add("polygon", cam.quad_z(x, x + seg, 0, top, skyline_z), label, label, depth=("z", skyline_z))
        x += seg
    for side, x_in, x_out in ((-1, xl - sw_l, -80.0), (1, xr + sw_r, 80.0)):
        beyond = "terrain" if rng.random() < 0.5 else "ground"
        add("polygon", cam.ground(x_out, x_in, near, far), beyond, beyond)
    add("polygon", cam.ground(xl, xr, near, far), "road", "road")
    add("polygon", cam.ground(xl - sw_l, xl, near, far), "sidewalk", "sidewalk")
    add("polygon", cam.ground(xr, xr + sw_r, near, far), "sidewalk", "sidewalk")
    # Lane markings: paint only, still road.
    lanes = max(2, int(road_w // 3.5))
    lane_w = road_w / lanes
    for k in range(1, lanes):
        xm = xl + k * lane_w
        dash_z = rng.uniform(2, 6)
        while dash_z < 120:
            add("polygon", cam.ground(xm - 0.08, xm + 0.08, dash_z, dash_z + 3), None, "marking", (0, 0, 0))
            dash_z += 9
    if rng.random() < 0.25:  # a parking bay (void) along one kerb
        z0 = rng.uniform(5, 30)
        xa = xl if rng.random() < 0.5 else xr - 2.2
        add("polygon", cam.ground(xa, xa + 2.2, z0, z0 + rng.uniform(6, 15)), "parking", "parking")

    objects: list[tuple[float, list[tuple]]] = []  # (depth, [op args]) drawn far to near

    def obj(z, *parts):
        objects.append((z, list(parts)))

    # Facades, walls and fences behind the sidewalks.
    for side, kerb, sw in ((-1, xl, sw_l), (1, xr, sw_r)):
        z = rng.uniform(2.0, 8.0)
        setback = rng.uniform(0.0, 3.0)
        xb = kerb + side * (sw + setback)
        while z < 160:
            seg = rng.uniform(8, 28)
            r = rng.random()
            parts = []
            if r < 0.72:
                h = rng.uniform(6, 30)
                mat = f"facade{rng.integers(4)}"
                t = _tint(rng)
                parts.append(("polygon", cam.quad_x(xb, 0, h, z, z + seg), "building", mat, t, ("x", xb)))
                parts.append(("polygon", cam.quad_z(xb, xb + side * 15, 0, h, z), "building", mat, t, ("z", z)))
                for wy in np.arange(2.5, h - 1.5, 3.2):  # windows: paint only
                    for wz in np.arange(z + 1.0, z + seg - 1.5, 2.6):
                        parts.append(("polygon", cam.quad_x(xb - side * 0.01, wy, wy + 1.6, wz, wz + 1.3), None, "window", (0, 0, 0), ("x", xb)))
            elif r < 0.84:
                h = rng.uniform(1.2, 3.5)
                parts.append(("polygon", cam.quad_x(xb, 0, h, z, z + seg), "wall", "wall", _tint(rng), ("x", xb)))
            elif r < 0.94:
                h = rng.uniform(1.0, 2.2)
                xf = kerb + side * sw * 0.9
                t = _tint(rng)
                parts.append(("polygon", cam.quad_x(xf, 0, h, z, z + seg), "fence", "fence", t, ("x", xf)))
                for bz in np.arange(z, z + seg, 0.8):  # bars: paint only
                    parts.append(("polygon", cam.quad_x(xf - side * 0.01, 0, h, bz, bz + 0.15), None, "fence_bar", (0, 0, 0), ("x", xf)))
            elif r < 0.97:
                parts.append(("polygon", cam.quad_x(kerb - side * 0.2, 0.2, 0.9, z, z + seg), "guard rail", "guard_rail", _tint(rng), ("x", kerb - side * 0.2)))
            # else: a gap showing what is behind
            obj(z + seg, *parts)
            z += seg
        # Trees, poles with lights or signs, people, street furniture along the sidewalk.
        for _ in range(rng.poisson(5)):
            zt = rng.uniform(4, 90)
            xt = kerb + side * sw * rng.uniform(0.4, 0.9)
            crown_r, trunk_h = rng.uniform(1.2, 3.0), rng.uniform(1.8, 3.5)
            t = _tint(rng)
            (x0, y0), (x1, y1) = cam.point(xt - 0.15, trunk_h + crown_r * 0.3, zt), cam.point(xt + 0.15, 0, zt)
            (cx0, cy0), (cx1, cy1) = cam.point(xt - crown_r, trunk_h + 2 * crown_r, zt), cam.point(xt + crown_r, trunk_h, zt)
            obj(zt, ("rect", (x0, y0, x1, y1), "vegetation", "trunk", t), ("ellipse", (cx0, cy0, cx1, cy1), "vegetation", "vegetation", t))
        for _ in range(rng.poisson(2.5)):
            zp = rng.uniform(3, 70)
            xp = kerb + side * 0.4
            hp = rng.uniform(4.0, 8.0)
            parts = [("rect", cam.box(xp - 0.1, hp, xp + 0.1, 0, zp), "pole", "pole", _tint(rng))]
            if rng.random() < 0.45:
                yl = hp - 1.0
                box = cam.box(xp - 0.2, yl + 0.9, xp + 0.2, yl, zp - 0.05)
                parts.append(("rect", box, "traffic light", "light_box", _tint(rng)))
                lamp = "lamp_red" if rng.random() < 0.5 else "lamp_green"
                parts.append(("ellipse", cam.box(xp - 0.1, yl + 0.75, xp + 0.1, yl + 0.55, zp - 0.1), None, lamp, (0, 0, 0)))
            else:
                ys = rng.uniform(2.0, 3.0)
                shape = "ellipse" if rng.random() < 0.5 else "rect"
                parts.append((shape, cam.box(xp - 0.35, ys + 0.7, xp + 0.35, ys, zp - 0.05), "traffic sign", "sign_face", _tint(rng)))
            obj(zp, *parts)
        for _ in range(rng.poisson(2.0)):
            zp = rng.uniform(3, 50)
            obj(zp, *_person(cam, kerb + side * sw * rng.uniform(0.2, 0.9), zp, rng, "person"))
        for _ in range(rng.poisson(0.6)):
            zs = rng.uniform(3, 40)
            xs = kerb + side * sw * rng.uniform(0.3, 0.9)
            label = "static" if rng.random() < 0.6 else "dynamic"
            hs = rng.uniform(0.5, 1.2)
            obj(zs, ("rect", cam.box(xs - 0.4, hs, xs + 0.4, 0, zs), label, label, _tint(rng)))

    # Traffic on the road.
    classes = ("car", "truck", "bus", "motorcycle", "bicycle", "train")
    probs = np.array([0.72, 0.08, 0.06, 0.05, 0.07, 0.02])
    for _ in range(rng.poisson(4.5)):
        cls = classes[rng.choice(len(classes), p=probs)]
        zv = rng.uniform(4, 70)
        if cls == "train":
            xv = road_c
            obj(zv + 0.5, ("polygon", cam.ground(xv - 1.0, xv + 1.0, zv, zv + 30), "rail track", "rail", _tint(rng), ("ground",)))
        else:
            lane = rng.integers(lanes)
            xv = xl + (lane + 0.5) * lane_w + rng.uniform(-0.3, 0.3)
        obj(zv, *_vehicle(cam, cls, xv, zv, rng))

    for z, parts in sorted(objects, key=lambda item: -item[0]):
        for kind, xy, label, material, t, *depth in parts:
            add(kind, xy, label, material, t, depth[0] if depth else ("z", z))

    if rng.random() < 0.5:  # the ego vehicle's bonnet (void), as in Cityscapes
        top = height * rng.uniform(0.86, 0.93)
        pts = [(0, height), (0, top + 0.04 * height)]
        pts += [(width * s, top + 0.04 * height * (2 * s - 1) ** 2) for s in np.linspace(0.05, 0.95, 10)]
        pts += [(width, top + 0.04 * height), (width, height)]
        add("polygon", pts, "ego vehicle", "ego", depth=("z", 1.0))
    return ops, cam


def _person(cam: _Camera, x: float, z: float, rng: np.random.Generator, label: str, base_y: float = 0.0):
    h = rng.uniform(1.5, 1.9)
    skin, cloth = _tint(rng), _tint(rng)
    legs = 0.0 if label == "rider" else 0.47 * h
    parts = []
    if legs:
        for dx in (-0.15, 0.03):
            parts.append(("rect", cam.box(x + dx, base_y + legs, x + dx + 0.12, base_y, z), label, "trousers", cloth))
    parts.append(("rect", cam.box(x - 0.22, base_y + 0.85 * h, x + 0.22, base_y + legs, z), label, "clothes", cloth))
    parts.append(("ellipse", cam.box(x - 0.11, base_y + h, x + 0.11, base_y + 0.85 * h, z), label, "skin", skin))
    return parts


_VEHICLE_SIZE = {  # width, height, length in metres
    "car": (1.8, 1.5, 4.5), "truck": (2.5, 3.6, 8.0), "bus": (2.5, 3.2, 12.0),
    "motorcycle": (0.8, 1.2, 2.0), "bicycle": (0.6, 1.0, 1.8), "train": (2.6, 3.6, 25.0),
}


def _vehicle(cam: _Camera, cls: str, x: float, z: float, rng: np.random.Generator):
    w, h, length = _VEHICLE_SIZE[cls]
    w, h = w * rng.uniform(0.9, 1.1), h * rng.uniform(0.9, 1.1)
    paint = _tint(rng)
    mat = "paint" if cls in ("car", "motorcycle", "bicycle") else cls
    x0, x1 = x - w / 2, x + w / 2
    parts = []
    side_x = x0 if x > 0 else x1  # the side face the camera can see
    if cls in ("motorcycle", "bicycle"):
        r = 0.33
        for dz in (0.0, length * 0.8):
            parts.append(("ellipse", cam.box(x - 0.08, 2 * r, x + 0.08, 0, z + dz), cls, "tyre", paint))
        parts.append(("polygon", cam.quad_x(side_x, 0.3, 0.8, z, z + length), cls, mat, paint, ("x", side_x)))
        parts += _person(cam, x, z + length * 0.4, rng, "rider", base_y=0.75)
        return parts
    body_top = h * (0.55 if cls == "car" else 0.92)
    parts.append(("polygon", cam.quad_x(side_x, 0.25, body_top, z, z + length), cls, mat, paint, ("x", side_x)))
    if cls == "car":
        parts.append(("polygon", cam.quad_x(side_x, body_top, h, z + 0.9, z + length - 1.2), cls, "glass", paint, ("x", side_x)))
    parts.append(("polygon", cam.quad_z(x0, x1, 0.25, body_top, z), cls, mat, paint))
    for wx in (x0, x1 - 0.35):
        parts.append(("rect", cam.box(wx, 0.6, wx + 0.35, 0, z), cls, "tyre", paint))
    if cls == "car":
        parts.append(("polygon", cam.quad_z(x0 + 0.15, x1 - 0.15, body_top, h, z + 0.8), cls, mat, paint))
        parts.append(("polygon", cam.quad_z(x0 + 0.25, x1 - 0.25, body_top + 0.05, h - 0.1, z + 0.79), None, "glass", (0, 0, 0)))
    else:
        parts.append(("polygon", cam.quad_z(x0 + 0.2, x1 - 0.2, h * 0.65, h * 0.85, z - 0.01), None, "glass", (0, 0, 0)))
    for lx in (x0 + 0.05, x1 - 0.3):
        parts.append(("rect", cam.box(lx, body_top - 0.1, lx + 0.25, body_top - 0.3, z - 0.01), None, "tail_light", (0, 0, 0)))
    return parts


# ----------------------------------------------------------------------------- rendering
# Base colours per style. "real" is muted and grey-green; "game" saturated and warm.
_MATERIALS = {
    "real": {
        "sky": (196, 204, 212), "road": (92, 92, 98), "marking": (200, 200, 196), "sidewalk": (138, 130, 134),
        "terrain": (118, 124, 86), "ground": (116, 108, 98), "parking": (120, 110, 118), "rail": (96, 88, 80),
        "facade0": (128, 124, 118), "facade1": (150, 140, 126), "facade2": (108, 106, 110), "facade3": (160, 152, 140),
        "building": (124, 122, 120), "window": (60, 66, 72), "wall": (140, 136, 128), "fence": (120, 116, 104),
        "fence_bar": (90, 88, 80), "guard_rail": (150, 150, 150), "pole": (112, 112, 112), "light_box": (50, 52, 50),
        "lamp_red": (190, 70, 60), "lamp_green": (90, 170, 120), "sign_face": (170, 176, 186),
        "vegetation": (74, 92, 54), "trunk": (80, 70, 58), "skin": (176, 144, 124), "clothes": (74, 74, 84),
        "trousers": (56, 58, 70), "paint": (110, 110, 116), "glass": (48, 54, 60), "tyre": (34, 34, 36),
        "tail_light": (150, 50, 50), "truck": (136, 134, 126), "bus": (150, 150, 120), "train": (140, 140, 150),
        "ego": (40, 42, 46), "static": (112, 104, 96), "dynamic": (96, 100, 90),
    },
    "game": {
        "sky": (70, 150, 245), "road": (70, 66, 72), "marking": (250, 240, 170), "sidewalk": (200, 176, 150),
        "terrain": (150, 210, 80), "ground": (190, 150, 100), "parking": (170, 120, 170), "rail": (150, 110, 70),
        "facade0": (210, 150, 100), "facade1": (235, 205, 150), "facade2": (170, 90, 70), "facade3": (120, 160, 200),
        "building": (200, 160, 120), "window": (40, 90, 150), "wall": (220, 190, 140), "fence": (200, 140, 90),
        "fence_bar": (120, 70, 40), "guard_rail": (230, 230, 240), "pole": (90, 95, 110), "light_box": (40, 40, 20),
        "lamp_red": (255, 40, 20), "lamp_green": (40, 255, 90), "sign_face": (40, 110, 230),
        "vegetation": (50, 170, 40), "trunk": (120, 80, 40), "skin": (230, 170, 130), "clothes": (200, 60, 60),
        "trousers": (40, 60, 160), "paint": (200, 40, 40), "glass": (30, 60, 90), "tyre": (20, 20, 20),
        "tail_light": (255, 30, 30), "truck": (230, 200, 60), "bus": (250, 170, 30), "train": (60, 200, 220),
        "ego": (20, 20, 30), "static": (190, 120, 60), "dynamic": (90, 200, 160),
    },
}
# "render": SYNTHIA-like, pastel and cool (the real palette lifted toward a blue-grey).
_MATERIALS["render"] = {m: (int(0.62 * r + 70), int(0.62 * g + 78), int(0.66 * b + 92))
                        for m, (r, g, b) in _MATERIALS["real"].items()}
_MATERIALS["render"].update(sky=(150, 190, 235), vegetation=(90, 150, 90), road=(120, 118, 130), paint=(120, 130, 200))
# How strongly an instance's tint moves each material (fraction of 255): cars and clothes vary a lot.
_TINT_AMOUNT = {"paint": 0.55, "clothes": 0.45, "trousers": 0.3, "truck": 0.3, "bus": 0.25, "skin": 0.12,
                "facade0": 0.15, "facade1": 0.15, "facade2": 0.15, "facade3": 0.15}
_DEFAULT_TINT = 0.06


def _colour(style: str, material: str, tint) -> tuple[int, int, int]:
    amount = 255.0 * _TINT_AMOUNT.get(material, _DEFAULT_TINT) * (0.6 if style == "real" else 1.0)
    return tuple(min(255, max(0, int(b + amount * t))) for b, t in zip(_MATERIALS[style][material], tint))


def _draw(draw: ImageDraw.ImageDraw, op: Op, fill) -> None:
    if op.kind == "polygon":
        draw.polygon([(float(x), float(y)) for x, y in op.xy], fill=fill)
    else:
        x0, y0, x1, y1 = (float(v) for v in op.xy)
        box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
        (draw.ellipse if op.kind == "ellipse" else draw.rectangle)(box, fill=fill)


def rasterise_labels(ops: list[Op], width: int, height: int) -> np.ndarray:
    """The label-id map (uint8, H x W) of a scene."""
    img = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(img)
    for op in ops:
        if op.label is not None:
            _draw(draw, op, LABEL_ID[op.label])
    return np.asarray(img)


def render_image(ops: list[Op], width: int, height: int, style: str, rng: np.random.Generator) -> np.ndarray:
    """The RGB image (uint8, H x W x 3) of a scene in ``style``."""
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; expected one of {STYLES}")
    img = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(img)
    for op in ops:
        _draw(draw, op, _colour(style, op.material, op.tint))
    x = np.asarray(img, dtype=np.float32) / 255.0
    yy = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    xx = np.linspace(-1.0, 1.0, width, dtype=np.float32)[None, :, None]
    if style == "real":
        # Overcast, low-frequency illumination; muted colours; optics and sensor.
        coarse = rng.normal(0.0, 1.0, (6, 12)).astype(np.float32)
        illum = np.asarray(Image.fromarray(coarse).resize((width, height), Image.BICUBIC))[..., None]
        x = x * (1.0 + 0.07 * illum)
        grey = x.mean(axis=2, keepdims=True)
        x = grey + 0.55 * (x - grey)  # desaturate
        x = 0.5 + 0.78 * (x - 0.5)  # lower contrast
        x = x * np.array([0.97, 1.0, 0.99], dtype=np.float32)  # slight green cast
        x = x * (1.0 - 0.35 * (xx**2 + (2 * yy - 1) ** 2) / 2)  # vignetting
        x = np.clip(x, 0, 1)
        x = np.asarray(Image.fromarray((x * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.9 * max(1.0, width / 1024))),
                       dtype=np.float32) / 255.0
        x = x + rng.normal(0.0, 0.025, x.shape).astype(np.float32)  # sensor noise
    elif style == "render":
        # Flat ambient light from above, soft edges, no sensor: a rasteriser's look.
        x = x * (1.05 - 0.12 * yy)
        x = np.clip(x, 0, 1)
        x = np.asarray(Image.fromarray((x * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.6 * max(1.0, width / 1024))),
                       dtype=np.float32) / 255.0
        x = x ** 0.9
    else:
        # Sunny, warm key light from the left, saturated, contrasty, no blur, no noise.
        x = x * (1.1 - 0.15 * (xx + 1) / 2)
        grey = x.mean(axis=2, keepdims=True)
        x = grey + 1.3 * (x - grey)
        x = 0.5 + 1.18 * (x - 0.5)
        x = x * np.array([1.08, 1.0, 0.86], dtype=np.float32)
    return (np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)


def rasterise_distance(ops: list[Op], cam: _Camera) -> np.ndarray:
    """Each pixel's distance from the camera along its ray (float32 metres, H x W; inf for the sky):
    the depth of the op drawn last over it (as the label map takes its label) times the ray's length
    per unit depth."""
    index = Image.new("I", (cam.w, cam.h), 0)
    draw = ImageDraw.Draw(index)
    for k, op in enumerate(ops):
        _draw(draw, op, k)
    index = np.asarray(index)
    depth = np.empty(index.shape, dtype=np.float32)
    for k in np.unique(index):
        ys, xs = np.nonzero(index == k)
        depth[ys, xs] = cam.depth(ops[k], ys, xs)
    v, u = np.mgrid[0 : cam.h, 0 : cam.w].astype(np.float32) + 0.5
    return depth * np.sqrt(1.0 + ((u - cam.cx) ** 2 + (v - cam.horizon) ** 2) / cam.f ** 2)


def scene(seed: int, stream: str, index: int, width: int, height: int, style: str, view: Viewpoint = CAR,
          distance: bool = False):
    """(image, label ids) of scene ``index`` of a stream, deterministic from the seed; with ``distance``,
    (image, label ids, each pixel's distance from the camera in metres)."""
    key = [seed, sum(stream.encode()) * 1000 + len(stream), index]
    ops, cam = _compose(np.random.default_rng(key + [0]), width, height, view)
    label_ids = rasterise_labels(ops, width, height)
    image = render_image(ops, width, height, style, np.random.default_rng(key + [1]))
    return (image, label_ids, rasterise_distance(ops, cam)) if distance else (image, label_ids)


def add_fog(image: np.ndarray, distance: np.ndarray, beta: float, airlight: float) -> np.ndarray:
    """Homogeneous fog as Sakaridis et al. (2018) synthesise it (Koschmieder's law): I = R t + L (1 - t),
    with transmittance t = exp(-beta d), d the distance from the camera in metres, L a grey atmospheric
    light in [0, 1]; uint8 in and out. beta 0.005 / 0.01 / 0.02 per metre = visibility 600 / 300 / 150 m
    (3 / beta)."""
    t = np.exp(-beta * distance)[..., None]
    foggy = image.astype(np.float32) / 255.0 * t + airlight * (1.0 - t)
    return (np.clip(foggy, 0, 1) * 255 + 0.5).astype(np.uint8)


# ----------------------------------------------------------------------------- native trees
def scaled(size: tuple[int, int], scale: float) -> tuple[int, int]:
    """(width, height) of a native size scaled, keeping the aspect ratio (exactly 2:1 for Cityscapes)."""
    height = max(8, round(size[1] * scale))
    return round(height * size[0] / size[1]), height


def write_pool(fn, items, workers: int, progress=None) -> int:
    """``fn(item)`` (a domain's writer of one scene, returning the pairs it wrote) over the pool's
    items on ``workers`` processes; returns the pairs written."""
    done = 0
    with worker_map(workers) as pmap:
        for r in pmap(fn, items):
            done += r
            if progress:
                progress(1)
    return done
