"""The report's figures: matplotlib (Agg, no pyplot state) -> base64 PNG.

Images are block-mean downsampled, normalised with astropy's ZScaleInterval over the imager
field and given a DN/s colour bar; the residual histograms carry the expected noise.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from miri_background.observation.notebook import NOTEBOOK_SKY
from miri_background.report.products import short_name

DOWNSAMPLE = 2
"""Images are shown as DOWNSAMPLE x DOWNSAMPLE block means (516 x 512 for FULL)."""
DPI = 90
TICKS = (0, 250, 500, 750, 1000)
"""Pixel ticks of the image axes (few: tick drawing is most of a panel's cost)."""
MARKS = (("sky pixel", "white"), ("star pixel", "cyan"))


def block_mean(a: np.ndarray, f: int = DOWNSAMPLE) -> np.ndarray:
    """Mean of the finite values in each ``f x f`` block (NaN for a block with none).

    ``b[j, i] = sum(a[f j + u, f i + v] finite) / count(finite)``; edge rows and columns
    that do not fill a block are dropped.
    """
    ny, nx = a.shape[0] // f * f, a.shape[1] // f * f
    blocks = a[:ny, :nx].reshape(ny // f, f, nx // f, f)
    finite = np.isfinite(blocks)
    total = np.where(finite, blocks, 0.0).sum(axis=(1, 3))
    count = finite.sum(axis=(1, 3))
    return np.divide(total, count, out=np.full(total.shape, np.nan), where=count > 0)


def png(fig) -> str:
    """The figure as a base64 PNG at `DPI`."""
    import base64
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def image_panels(images: dict[str, np.ndarray], marks: dict[str, tuple[int, int]]) -> str:
    """1-3 images in a row or 4 in a 2 x 2 grid, each `block_mean` downsampled, normalised
    with astropy's ZScaleInterval and given a DN/s colour bar; returns a base64 PNG."""
    from astropy.visualization import ImageNormalize, ZScaleInterval
    from matplotlib.figure import Figure

    ncols = 2 if len(images) == 4 else len(images)
    nrows = len(images) // ncols
    fig = Figure(figsize=(5.4 * ncols, 4.6 * nrows))  # a layout engine would triple the time
    fig.subplots_adjust(left=0.07, right=0.97, bottom=0.08, top=0.93, wspace=0.3, hspace=0.3)
    axes = list(fig.subplots(nrows, ncols, squeeze=False).flat)
    for ax, (label, data) in zip(axes, images.items(), strict=True):
        small = block_mean(data)
        vmin, vmax = ZScaleInterval().get_limits(small[_zscale_pixels(small)])
        shown = ax.imshow(
            small,
            origin="lower",
            cmap="inferno",
            interpolation="nearest",
            norm=ImageNormalize(vmin=vmin, vmax=vmax),
            extent=(-0.5, data.shape[1] - 0.5, -0.5, data.shape[0] - 0.5),
        )
        for (what, color), (x, y) in zip(MARKS, marks.values(), strict=True):
            ax.plot(x, y, "o", ms=11, mfc="none", mec=color, mew=1.5, label=f"{what} ({x}, {y})")
        ax.set(title=label, xlabel="x [pixel]", ylabel="y [pixel]", xticks=TICKS, yticks=TICKS)
        fig.colorbar(shown, ax=ax, label="DN/s", shrink=0.9)
    axes[0].legend(loc="lower left", fontsize="small", facecolor="0.5")
    return png(fig)


@cache
def _imager_blocks() -> np.ndarray:
    """Downsampled blocks that lie wholly in the imager field."""
    from miri_background.observation.instrument import region_masks

    return block_mean(region_masks()["imager"].astype(float)) == 1.0


def _zscale_pixels(small: np.ndarray) -> np.ndarray:
    """Where ZScale samples a downsampled image: its finite pixels in the imager field (the
    dark coronagraph and reference areas would otherwise widen the range to the full
    0-30 DN/s and wash out the sky), or all finite pixels of a non-FULL image."""
    imager = _imager_blocks()
    finite = np.isfinite(small)
    return finite & imager if imager.shape == small.shape else finite


def residual_histograms(residuals: dict, sigma: float) -> str:
    """Histogram of bsub at the sky pixels per exposure, with the expected distribution.

    Expected counts per bin of width ``w`` at ``x``: ``n w mean_k phi(x; 0, q_k)``, a mixture
    of Gaussians whose widths ``q_k`` are 64 quantiles of the per-pixel expected noise.
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullLocator

    fig = Figure(figsize=(11, 7.5))
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.08, top=0.95, wspace=0.2, hspace=0.35)
    for ax, (name, r) in zip(fig.subplots(2, 2).flat, residuals.items(), strict=False):
        stats = r["stats"]
        edges = np.linspace(-6.0, 6.0, 121) * stats["expected_rms"]
        centres, width = 0.5 * (edges[1:] + edges[:-1]), edges[1] - edges[0]
        q = np.quantile(r["expected"], (np.arange(64) + 0.5) / 64)
        pdf = np.exp(-0.5 * (centres[:, None] / q) ** 2) / (q * np.sqrt(2.0 * np.pi))
        outside = int(np.sum(np.abs(r["values"]) > edges[-1]))
        counts, _ = np.histogram(r["values"], bins=edges)
        ax.stairs(counts, edges, color="k", label="measured")
        ax.plot(
            centres,
            r["values"].size * width * pdf.mean(axis=1),
            color="tab:red",
            label=f"expected, rms {stats['expected_rms']:.3f} DN/s",
        )
        ax.set_yscale("log")
        ax.yaxis.set_minor_locator(NullLocator())  # log minor ticks cost more than the plot
        ax.set_ylim(bottom=0.5)
        ax.set(
            title=f"{short_name(name)}: {stats['n_pixels']} pixels, {outside} beyond the axis",
            xlabel="bsub at sky pixels [DN/s]",
            ylabel="pixels per bin",
        )
        ax.legend(
            title=f"mean {stats['mean']:+.4f}, robust std {stats['robust_std']:.3f} DN/s",
            fontsize="small",
        )
    return png(fig)


def all_figures(products, residuals: dict, star: dict, sigma: float) -> dict[str, tuple]:
    """Every figure as ``key -> (caption, base64 PNG)``."""
    marks = {"sky": NOTEBOOK_SKY, "star": (star["x"], star["y"])}
    first = products.science_names[0]
    rate = {n: img.data for n, img in products.rates.items()}
    panels = {
        "backgrounds": (
            "Background rates (detector1)",
            {short_name(n): rate[n] for n in products.background_names},
        ),
        "science": (
            "Science rates (detector1)",
            {short_name(n): rate[n] for n in products.science_names},
        ),
        "combined": (
            f"Combined background per sigma (for {short_name(first)}; maxiters=3)",
            {f"sigma={s:g}": products.combined[s][first].data for s in products.combined},
        ),
        "bsub": (
            f"Background-subtracted science, sigma={sigma:g} (the notebook's)",
            {short_name(n): img.data for n, img in products.bsub[sigma].items()},
        ),
    }
    if products.true_background is not None:
        panels["residual"] = (
            "Residual: combined background - true background (built-in data)",
            {
                f"sigma={s:g}": products.combined[s][first].data - products.true_background
                for s in products.combined
            },
        )
    figures = {k: (caption, image_panels(imgs, marks)) for k, (caption, imgs) in panels.items()}
    figures["histograms"] = (
        f"bsub at sky pixels (sigma={sigma:g}) and the expected noise sqrt(err_sci^2 + err_comb^2)",
        residual_histograms(residuals, sigma),
    )
    return figures
