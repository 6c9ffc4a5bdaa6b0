"""The pictures `check --out` writes per video, and the texts they carry.

A verdict can harm the person in the video, so every picture says what the
model is worth: a model card that warns (the demo model, too few or only
self-blended training videos, no card at all) puts a banner on each picture
("DEMO MODEL - NOT EVIDENCE", "NOT EVIDENCE: <why>", "NO MODEL CARD - NOT
EVIDENCE"). The texts are laid out by small pure functions (picture_texts,
shortened, uncertain_band, unreadable, fitted) that tests read without
drawing; the drawing functions only place them.

- NAME.verdict.jpg: the sampled frame with the most tracked faces, each
  person's box and P(fake), under a strip with the banner and the verdict
  (enlarged to at least MIN_WIDTH pixels, so that its texts can be read).
- NAME.timeline.png: each person's calibrated P(fake) per sampled frame, the
  threshold, the UNCERTAIN band around it, and the sampled frames where no
  face was found.
- NAME.gradcam.png: the face that scored most fake, enlarged, beside its
  Grad-CAM map, with a colour scale and what the map does and does not mean.
"""
import textwrap
import time
import warnings
from pathlib import Path

import cv2
import numpy as np

from deepfake_dvc.codec import write_image
from deepfake_dvc.figures import new_figure
from deepfake_dvc.files import atomic_path

BANNERS = {"demo model": "DEMO MODEL - NOT EVIDENCE",
           "no model card": "NO MODEL CARD - NOT EVIDENCE"}  # "not evidence": with its reason
TITLE_WIDTH = 80       # characters of a timeline's title: a longer file name is shortened
ELLIPSIS = "\u2026"
MIN_WIDTH = 480        # px: a narrower frame is enlarged for its annotated picture
MIN_SCALE = 0.4        # OpenCV font scale below which a line is wrapped rather than shrunk
GRADCAM_SIDE = 288     # px: the face crop (96 px by default) enlarged 3x, cubic
DARK_MEAN = 40         # a crop whose mean luminance (0..255) is below this is too dark ...
FLAT_STD = 8           # ... and one whose luminance varies less (standard deviation) too flat
GRADCAM_CAPTION = ("Red: regions that most raised this model's P(fake) for this face. It shows "
                   "where the score came from, not proof of manipulation.")
UNREADABLE_CAPTION = ("No map: over a face this dark or flat, Grad-CAM would show noise rather "
                      "than where the score came from.")
BANNER_RED = "#b00020"
BANNER_BGR = (32, 0, 176)  # the same red for OpenCV


# ---- the texts: pure functions, no drawing -------------------------------------------

def banner(scope):
    """The banner of a model's pictures (its card's mark, spelt out), None without a mark."""
    mark = scope.get("mark")
    if mark is None:
        return None
    return BANNERS.get(mark) or f"NOT EVIDENCE: {short_reason(scope)}"


def short_reason(scope):
    """Why a card says its verdicts are not evidence, in a few words: its warning between
    what the model was trained on and "so its verdicts ..." (calibration.scope's wording)."""
    warning = scope.get("warning") or ""
    head = f"This model, trained on {scope.get('trained_on')}, "
    tail = ", so its verdicts on other footage are not evidence."
    if warning.startswith(head) and warning.endswith(tail):
        return "the model " + warning[len(head):-len(tail)]
    return "see the model card's warning"


def verdict_text(result):
    """'FAKE  p(fake)=0.912', or 'UNKNOWN: no face found in 8 sampled frames'."""
    if result.p_fake is None:
        return f"{result.verdict}: {result.reason or 'no face found'}"
    return f"{result.verdict}  p(fake)={result.p_fake:.3f}"


def shortened(name, width):
    """name, or its beginning and end around an ellipsis: at most width characters (3 at
    least), so that what follows it in a title always shows."""
    width = max(int(width), 3)
    if len(name) <= width:
        return name
    keep = width - 1
    head = (keep + 1) // 2
    return name[:head] + ELLIPSIS + name[len(name) - (keep - head):]


def uncertain_band(decision):
    """(low, high): the calibrated P(fake) within the card's uncertain_margin of the threshold,
    where the verdict is UNCERTAIN, within [0, 1]."""
    return (max(0.0, decision.threshold - decision.uncertain_margin),
            min(1.0, decision.threshold + decision.uncertain_margin))


def model_text(scope, decision):
    """One small-print line: the decision rule and what the model was trained on."""
    trained = (f"trained on {scope['trained_on']}" if scope.get("trained_on")
               else "what the model was trained on is unknown (no model card)")
    rule, value = decision.threshold_rule, f"{decision.threshold:g}"
    return f"threshold {rule if rule.startswith(value) else f'{value} ({rule})'}; {trained}"


def picture_texts(result, scope, decision, width=TITLE_WIDTH):
    """Every text the pictures of one result show: banner (None without a card's mark),
    verdict, reason (or None), title (the file name shortened so that the verdict and its
    p(fake) fit in width characters), band and threshold (the timeline's legend), p_label (its
    axis), calibrated, model (small print) and caption (the Grad-CAM picture's)."""
    verdict = verdict_text(result)
    low, high = uncertain_band(decision)
    title = f"{shortened(Path(result.video).name, width - len(verdict) - 2)}: {verdict}"
    calibrated = "calibrated" if scope.get("card") else "not calibrated: no model card"
    return dict(banner=banner(scope), verdict=verdict, reason=result.reason, title=title,
                band=f"UNCERTAIN {low:.2f}-{high:.2f}",
                threshold=f"threshold {decision.threshold:g}", calibrated=calibrated,
                p_label=f"P(fake), {calibrated.split(':')[0]}", model=model_text(scope, decision),
                caption=GRADCAM_CAPTION)


def face_text(result, face, texts):
    """What the Grad-CAM picture says of its face (result's face-th): its frame and P(fake)."""
    return (f"the face at frame {result.frame_indices[face]}: P(fake) = "
            f"{result.frame_p_fake[face]:.3f} ({texts['calibrated']}), the most fake-looking "
            f"of the video")


def no_face_frames(result, sampled):
    """The sampled frame indices where no face was found."""
    found = set(result.frame_indices)
    return [int(i) for i in sampled if int(i) not in found]


def luminance(crop):
    """The luminance (0..255, ITU-R BT.601) of an RGB crop."""
    return cv2.cvtColor(np.asarray(crop, dtype=np.uint8), cv2.COLOR_RGB2GRAY).astype(np.float64)


def unreadable(crop):
    """Why a face crop's Grad-CAM map cannot be read over it, or None: its mean luminance
    below DARK_MEAN (too dark), or its luminance's standard deviation below FLAT_STD (too
    flat), both out of 255."""
    y = luminance(crop)
    if y.mean() < DARK_MEAN:
        return (f"face too dark to read the map reliably (mean brightness {y.mean():.0f}/255, "
                f"below {DARK_MEAN})")
    if y.std() < FLAT_STD:
        return (f"face too flat to read the map reliably (contrast {y.std():.0f}/255, "
                f"below {FLAT_STD})")
    return None


def fitted(text, width, scale, min_scale=MIN_SCALE, font=cv2.FONT_HERSHEY_SIMPLEX):
    """(lines, scale, thickness) to draw text with OpenCV within width pixels: one line at
    scale, or shrunk as far as min_scale, else wrapped at word boundaries at min_scale (a word
    longer than a line is split)."""
    min_scale = min(min_scale, scale)

    def thickness(s):
        return max(1, round(2 * s))

    def size(t, s):
        return cv2.getTextSize(t, font, s, thickness(s))[0][0]

    one = size(text, scale)
    if one <= width:
        return [text], scale, thickness(scale)
    if one * min_scale / scale <= width:
        fit = scale * width / one
        while size(text, fit) > width:  # text width is not exactly proportional to scale
            fit *= 0.97
        return [text], fit, thickness(fit)
    chars = max(1, int(len(text) * width / size(text, min_scale)))
    while True:
        lines = textwrap.wrap(text, chars, break_long_words=True) or [""]
        if chars == 1 or all(size(line, min_scale) <= width for line in lines):
            return lines, min_scale, thickness(min_scale)
        chars -= 1


# ---- the annotated frame (OpenCV) ----------------------------------------------------

COLOURS = {"FAKE": (0, 0, 255), "REAL": (0, 170, 0)}  # BGR; anything else orange
ORANGE = (0, 200, 255)
PAD = 8


def text_strip(lines, width, scale):
    """A BGR strip width pixels wide: each (text, colour, background) fitted on its own
    rows."""
    font, rows = cv2.FONT_HERSHEY_SIMPLEX, []
    for text, colour, background in lines:
        pieces, s, thick = fitted(text, width - 2 * PAD, scale)
        for piece in pieces:
            (_, height), base = cv2.getTextSize(piece, font, s, thick)
            row = np.full((height + base + 2 * PAD, width, 3), background, np.uint8)
            cv2.putText(row, piece, (PAD, PAD + height), font, s, colour, thick, cv2.LINE_AA)
            rows.append(row)
    return np.vstack(rows)


def label(frame, text, corner, colour):
    """Text in colour on a black box whose top left is corner, kept inside the frame: shrunk
    (then wrapped) to fit its width."""
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, max(0.5, frame.shape[0] / 720)
    lines, scale, thick = fitted(text, frame.shape[1] - 4 * PAD, scale)
    sizes = [cv2.getTextSize(line, font, scale, thick) for line in lines]
    step = max(h + b for (_, h), b in sizes) + PAD
    width = max(w for (w, _), _ in sizes) + 2 * PAD
    height = step * len(lines) + PAD
    x = int(min(max(corner[0], 0), max(frame.shape[1] - width, 0)))
    y = int(min(max(corner[1], 0), max(frame.shape[0] - height, 0)))
    cv2.rectangle(frame, (x, y), (x + width, y + height), (0, 0, 0), cv2.FILLED)
    for k, (line, ((_, h), _)) in enumerate(zip(lines, sizes)):
        cv2.putText(frame, line, (x + PAD, y + PAD + k * step + h), font, scale, colour, thick,
                    cv2.LINE_AA)


def annotated_frame(result, indices, frames, faces, texts, decision):
    """The sampled frame with the most tracked faces (enlarged to MIN_WIDTH if narrower), each
    face's box labelled with its track's P(fake) (red above the threshold, green below, orange
    within the UNCERTAIN band), under a strip with the banner, the verdict with its
    probability, and the reason when there is one."""
    if len(faces["crops"]):
        counts = [int(np.sum(faces["frame_indices"] == i)) for i in indices]
        shown = indices[int(np.argmax(counts))]
        frame = frames[list(indices).index(shown)]
    else:
        shown, frame = None, frames[len(frames) // 2]
    zoom = max(1.0, MIN_WIDTH / frame.shape[1])
    frame = cv2.resize(frame, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_CUBIC) \
        if zoom > 1 else frame.copy()
    thick = max(2, frame.shape[0] // 240)
    for track in result.tracks if shown is not None else []:
        at = np.flatnonzero((faces["frame_indices"] == shown)
                            & (faces["tracks"] == track["track"]))
        if len(at):
            left, top, right, bottom = (int(round(v * zoom)) for v in faces["boxes"][at[0]])
            colour = ORANGE if abs(track["p_fake"] - decision.threshold) < \
                decision.uncertain_margin else \
                COLOURS["FAKE" if track["p_fake"] >= decision.threshold else "REAL"]
            cv2.rectangle(frame, (left, top), (right, bottom), colour, thick)
            label(frame, f"person {track['track'] + 1}: {track['p_fake']:.2f}", (left, bottom),
                  colour)
    scale = max(0.6, frame.shape[0] / 600)
    lines = [(texts["verdict"], COLOURS.get(result.verdict, ORANGE), (0, 0, 0))]
    if texts["banner"]:
        lines.insert(0, (texts["banner"], (255, 255, 255), BANNER_BGR))
    if texts["reason"] and result.p_fake is not None:  # UNKNOWN's is in its verdict
        lines.append((texts["reason"], (255, 255, 255), (0, 0, 0)))
    return np.vstack([text_strip(lines, frame.shape[1], scale), frame])


# ---- the timeline and the Grad-CAM picture (matplotlib) ------------------------------
# Placed by hand in inches, top down, and saved as save_png does: figures.save_figure's
# tight_layout would move the banner and caption rows placed here.

DPI = 100
BANNER_STYLE = dict(color="white", weight="bold")


def plain(text):
    """text for matplotlib as it is: a '$' does not start mathematics."""
    return text.replace("$", r"\$")


def wrapped(fig, text, width, **style):
    """text's lines, wrapped at word boundaries so that each, drawn with style, is at most
    width inches wide."""
    renderer = fig.canvas.get_renderer()
    probe = fig.text(0, 0, "", **style)

    def widest(lines):
        sizes = []
        for piece in lines:
            probe.set_text(plain(piece))
            sizes.append(probe.get_window_extent(renderer).width / fig.dpi)
        return max(sizes)

    chars, lines = len(text), [text]
    with warnings.catch_warnings():  # a glyph a file name has and the font has not
        warnings.simplefilter("ignore")
        while chars > 1:
            lines = textwrap.wrap(text, chars, break_on_hyphens=False) or [""]
            wide = widest(lines)
            if wide <= width:
                break
            chars = max(1, min(chars - 1, int(chars * width / wide)))
    probe.remove()
    return lines


def text_height(lines, fontsize):
    """Inches that lines of text at fontsize take, with a little room."""
    return len(lines) * fontsize * 1.3 / 72 + 0.08


class Sheet:
    """A figure width inches wide whose rows are placed top down, in inches."""

    def __init__(self, width):
        self.fig, _ = new_figure(width, 1)
        self.fig.clear()
        self.width, self.rows = width, []  # rows: (height, draw(bottom, height) or None)

    def text(self, text, fontsize, band=None, margin=0.2, **style):
        """A row of text, centred and wrapped to the width; on a coloured band if band."""
        lines = wrapped(self.fig, text, self.width - 2 * margin, fontsize=fontsize, **style)
        height = text_height(lines, fontsize) + (0.12 if band else 0)

        def draw(bottom, height):
            ax = self.fig.add_axes((0, bottom, 1, height), facecolor=band or "none")
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            ax.text(0.5, 0.5, plain("\n".join(lines)), ha="center", va="center",
                    fontsize=fontsize, transform=ax.transAxes, **style)
        self.rows.append((height, draw))

    def space(self, height, draw=None):
        """A row height inches tall; draw(bottom, height) fills it (figure fractions)."""
        self.rows.append((height, draw))

    def axes(self, bottom, height, left, width):
        """Axes at left..left + width inches across, within a row's bottom and height."""
        return self.fig.add_axes((left / self.width, bottom, width / self.width, height))

    def save(self, path):
        """Set the figure's height, draw the rows and write the PNG under a temporary name."""
        total = sum(height for height, _ in self.rows)
        self.fig.set_figheight(total)
        top = total
        for height, draw in self.rows:
            top -= height
            if draw:
                draw(top / total, height / total)
        save_png(self.fig, path)


def save_png(fig, path):
    """Write a figure as PNG under a temporary name, then close it."""
    import matplotlib.pyplot as plt
    try:
        with warnings.catch_warnings():  # a glyph a file name has and the font has not
            warnings.simplefilter("ignore")
            with atomic_path(path) as tmp:
                fig.savefig(tmp, format="png", dpi=DPI)
    finally:
        plt.close(fig)


def timeline(result, sampled, texts, decision, path):
    """A PNG of each tracked face's calibrated P(fake) against its frame index: the threshold,
    the UNCERTAIN band, grey x's at the sampled frames without a face, the verdict in the
    title, the banner above and the decision rule and training data in small print below."""
    sheet = Sheet(8)
    sheet.space(0.1)
    if texts["banner"]:
        sheet.text(texts["banner"], 13, band=BANNER_RED, **BANNER_STYLE)
        sheet.space(0.06)

    from matplotlib.ticker import MaxNLocator

    def draw_plot(bottom, height):
        ax = sheet.axes(bottom, height, 0.75, 5.0)
        low, high = uncertain_band(decision)
        ax.axhspan(low, high, color="orange", alpha=0.2, lw=0, label=texts["band"])
        ax.axhline(decision.threshold, color="red", linestyle="--", label=texts["threshold"])
        frames = np.array(result.frame_indices)
        p_fake = np.array(result.frame_p_fake)
        tracks = np.array(result.frame_tracks)
        for track in result.tracks:
            at = tracks == track["track"]
            ax.plot(frames[at], p_fake[at], "o-", label=f"person {track['track'] + 1}")
        missing = no_face_frames(result, sampled)
        if missing:
            ax.plot(missing, [-0.06] * len(missing), "x", color="grey", markersize=7, mew=1.5,
                    linestyle="none", label="no face")
        if len(sampled):
            first, last = int(min(sampled)), int(max(sampled))
            pad = 0.04 * max(1, last - first)
            ax.set_xlim(first - pad, last + pad)
        ax.set(ylim=(-0.12, 1.02), xlabel="frame", ylabel=texts["p_label"])
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # frames are whole numbers
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=9)
    sheet.text(texts["title"], 11)
    sheet.space(0.05)
    sheet.space(2.5, draw_plot)
    sheet.space(0.55)  # tick labels and the axis label
    sheet.text(texts["model"], 7.5, color="#333333")
    sheet.space(0.05)
    sheet.save(path)


def normalised(crop):
    """An RGB crop's brightness stretched to 0..255 (its 1st..99th percentile), for display."""
    lo, hi = np.percentile(crop, (1, 99))
    return np.uint8(np.clip((crop.astype(np.float64) - lo) * 255 / max(hi - lo, 1), 0, 255))


def gradcam_picture(crop, heat, texts, layer, path):
    """A PNG: the RGB face crop enlarged to GRADCAM_SIDE (cubic) beside the same with its
    Grad-CAM heatmap over it, a colour scale, the video's verdict, the face's frame and
    calibrated P(fake), what the map means and the banner. A crop too dark or flat to read
    (unreadable) is shown brightness-normalised, labelled, and no map is drawn over it;
    returns why, or None."""
    import matplotlib
    side = (GRADCAM_SIDE, GRADCAM_SIDE)
    big = cv2.resize(np.asarray(crop, np.uint8), side, interpolation=cv2.INTER_CUBIC)
    cam = np.clip(cv2.resize(np.float32(heat), side, interpolation=cv2.INTER_CUBIC), 0, 1)
    why = unreadable(crop)
    sheet = Sheet(7.6)
    sheet.space(0.1)
    if texts["banner"]:
        sheet.text(texts["banner"], 13, band=BANNER_RED, **BANNER_STYLE)
        sheet.space(0.06)
    sheet.text(texts["title"], 11)
    sheet.text(texts["face"], 10)
    sheet.space(0.5 if why else 0.3)  # the panels' titles
    panel = 2.9  # inches: GRADCAM_SIDE pixels at DPI

    def panels(bottom, height):
        left = sheet.axes(bottom, height, 0.3, panel)
        right = sheet.axes(bottom, height, 3.4, panel)
        left.imshow(normalised(big) if why else big)
        left.set_title("face, brightness-normalised for display\n(the video's is darker)"
                       if why else "face (enlarged)", fontsize=9)
        if why:
            right.imshow(np.full((*side, 3), 236, np.uint8))
            right.text(GRADCAM_SIDE / 2, GRADCAM_SIDE / 2, textwrap.fill(why, 28), ha="center",
                       va="center", fontsize=10)
            right.set_title("Grad-CAM map not drawn", fontsize=9)
        else:
            right.imshow(big)
            right.imshow(cam, cmap="jet", vmin=0, vmax=1, alpha=0.45)
            right.set_title(plain(f"Grad-CAM (layer {layer})"), fontsize=9)
            bar = sheet.axes(bottom, height, 6.5, 0.15)
            scale = sheet.fig.colorbar(matplotlib.cm.ScalarMappable(
                matplotlib.colors.Normalize(0, 1), cmap="jet"), cax=bar, ticks=[0, 1])
            scale.ax.set_yticklabels(["low", "high"], fontsize=8)
            scale.set_label("contribution to P(fake)", fontsize=8)
        for ax in (left, right):
            ax.set_xticks([])
            ax.set_yticks([])
    sheet.space(panel, panels)
    sheet.space(0.15)
    sheet.text(UNREADABLE_CAPTION if why else texts["caption"], 9.5)
    sheet.space(0.05)
    sheet.save(path)
    return why


def write_pictures(checker, result, out, name):
    """Under out/: the annotated frame (name.verdict.jpg), the timeline (name.timeline.png)
    and, with a face, the Grad-CAM picture of the most fake-looking one (name.gradcam.png).
    Adds the time taken to result's seconds and timing (pictures: drawing and writing;
    gradcam: computing the map), even when a write fails; returns the texts drawn."""
    start, gradcam = time.perf_counter(), 0.0
    try:
        indices, frames, faces = (result.sampled.indices, result.sampled.frames,
                                  result.sampled.faces)
        decision = checker.decision
        texts = picture_texts(result, checker.scope, decision)
        pictures = [out / f"{name}.verdict.jpg", out / f"{name}.timeline.png"]
        write_image(pictures[0], annotated_frame(result, indices, frames, faces, texts, decision))
        timeline(result, indices, texts, decision, pictures[1])
        if len(faces["crops"]):
            face = int(np.argmax(result.frame_p_fake))
            crop = faces["crops"][face]
            began = time.perf_counter()
            heat, layer = checker.explain(crop)
            gradcam = time.perf_counter() - began
            pictures.append(out / f"{name}.gradcam.png")
            texts["face"] = face_text(result, face, texts)
            why = gradcam_picture(crop, heat, texts, layer, pictures[-1])
            result.gradcam = dict(layer=layer, frame=int(result.frame_indices[face]),
                                  p_fake=result.frame_p_fake[face], seconds=round(gradcam, 3))
            if why:
                result.gradcam["unreadable"] = why
        result.pictures = [str(p) for p in pictures]
        return texts
    finally:
        spent = time.perf_counter() - start
        result.timing.update(pictures=round(spent - gradcam, 3), gradcam=round(gradcam, 3))
        result.seconds = round(result.seconds + spent, 3)
