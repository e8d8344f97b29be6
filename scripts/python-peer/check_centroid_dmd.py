"""Cross-check tdw's centroid_dmd against numpy's exact DMD as MIScope computes it (spec §5.20),
from the same global_centroid_pca artifact.

Compares what does not depend on the eigensolver's choices: singular values, the rank, the
eigenvalues as a set, the one-step residual norms, and the reconstruction Φ Λ^t α (invariant
to each eigenvector's scale and phase, so it checks modes and amplitudes together).

Usage: check_centroid_dmd.py ARTIFACTS_DIR   (the variant's artifacts/ folder)
Prints one line per site with the worst relative differences; exits 1 above 1e-6.
"""

import sys
from pathlib import Path

import numpy as np

SITES = ["resid_pre", "attn_out", "mlp_out", "resid_post"]


def numpy_dmd(traj):
    x, x_next = traj[:-1].T, traj[1:].T
    u, s, vh = np.linalg.svd(x, full_matrices=False)
    energy = s**2
    total = energy.sum()
    r = 1 if total < 1e-12 else int(np.searchsorted(np.cumsum(energy) / total, 0.99) + 1)
    u_r, s_r, v_r = u[:, :r], s[:r], vh[:r].conj().T
    a_tilde = u_r.T @ x_next @ v_r @ np.diag(1.0 / s_r)
    eigenvalues, w = np.linalg.eig(a_tilde)
    modes = x_next @ v_r @ np.diag(1.0 / s_r) @ w
    amplitudes = np.linalg.lstsq(modes, traj[0], rcond=None)[0]
    pinv = np.linalg.pinv(modes)
    residuals = np.array(
        [
            np.linalg.norm(x_next[:, t] - np.real(modes @ np.diag(eigenvalues) @ pinv @ x[:, t]))
            for t in range(x.shape[1])
        ]
    )
    return s, r, eigenvalues, modes, amplitudes, residuals


def reconstruction(modes, eigenvalues, amplitudes, steps):
    return np.stack([np.real(modes @ (eigenvalues**t * amplitudes)) for t in range(steps)])


def relative(a, b):
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def main():
    artifacts = Path(sys.argv[1])
    pca = np.load(artifacts / "global_centroid_pca" / "cross_epoch.npz")
    ours = np.load(artifacts / "centroid_dmd" / "cross_epoch.npz")
    worst = 0.0
    for site in SITES:
        proj = pca[f"{site}__projections"]
        n = proj.shape[0]
        traj = proj.reshape(n, -1)
        s, r, eigenvalues, modes, amplitudes, residuals = numpy_dmd(traj)
        assert int(ours[f"{site}__n_modes"]) == r, (site, int(ours[f"{site}__n_modes"]), r)
        assert int(ours[f"{site}__n_classes"]) == proj.shape[1]
        d_traj = relative(ours[f"{site}__trajectory"], traj)
        d_sv = relative(ours[f"{site}__singular_values"], s)
        # Eigenvalues as sets: match each of ours to the nearest of numpy's.
        ev = ours[f"{site}__eigenvalues"]
        d_ev = max(np.min(np.abs(eigenvalues - v)) for v in ev) / np.max(np.abs(eigenvalues))
        d_res = relative(ours[f"{site}__residual_norms"], residuals)
        rec_ours = reconstruction(ours[f"{site}__modes"], ev, ours[f"{site}__amplitudes"], n)
        rec_numpy = reconstruction(modes, eigenvalues, amplitudes, n)
        d_rec = relative(rec_ours, rec_numpy)
        worst = max(worst, d_traj, d_sv, d_ev, d_res, d_rec)
        print(
            f"{site:10s} n={n} width={traj.shape[1]} r={r} "
            f"|λ| max {np.max(np.abs(eigenvalues)):.4f}  worst relative difference: "
            f"singular values {d_sv:.1e}, eigenvalues {d_ev:.1e}, residuals {d_res:.1e}, "
            f"reconstruction {d_rec:.1e}"
        )
    print(f"worst {worst:.1e}")
    sys.exit(0 if worst < 1e-6 else 1)


if __name__ == "__main__":
    main()
