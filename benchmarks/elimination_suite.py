"""The AlphaGrad / graphax benchmark functions, written in chainrule from their definitions.

Lohoff and Neftci, "Optimizing Automatic Differentiation with Deep Reinforcement
Learning" (NeurIPS 2024), and graphax's examples: the 1-D Roe flux (Roe 1981), the 6-DOF
robot arm's forward kinematics, the human heart dipole and propane combustion systems
(MINPACK-2), a small perceptron and a transformer encoder. Each entry gives the function,
its arguments and which of them are differentiated.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

import chainrule as cr

GAMMA = 0.5


def functions(ops) -> dict:
    """The benchmark functions written against `ops` (chainrule's names, or torch's)."""
    def _pressure(u0, u1, u2):
        return (GAMMA - 1.0) * (u2 - 0.5 * u1 ** 2 / u0)

    def _enthalpy(u0, u2, p):
        return (u2 + p) / u0

    def _euler_flux(u0, u1, u2, p):
        v = u1 / u0
        return u1, p + u1 * v, v * (p + u2)

    def roe_flux_1d(ul0, ul1, ul2, ur0, ur1, ur2):
        """Roe's approximate Riemann flux for the 1-D Euler equations: 6 inputs, 3 outputs."""
        du0 = ur0 - ul0
        ulr0 = ops.sqrt(ul0 * ur0)
        w1 = ops.sqrt(ul0) + ops.sqrt(ur0)
        vl, pl = ul1 / ul0, _pressure(ul0, ul1, ul2)
        hl = _enthalpy(ul0, ul2, pl)
        vr, pr = ur1 / ur0, _pressure(ur0, ur1, ur2)
        hr = _enthalpy(ur0, ur2, pr)
        dp, dv = pr - pl, vr - vl
        u = (ops.sqrt(ul0) * vl + ops.sqrt(ur0) * vr) / w1      # Roe averages
        h = (ops.sqrt(ul0) * hl + ops.sqrt(ur0) * hr) / w1
        q2 = u ** 2
        a2 = (GAMMA - 1.0) * (h - 0.5 * q2)
        a = ops.sqrt(a2)
        lp, lam, ln = ops.abs(u + a), ops.abs(u), ops.abs(u)
        n = a * ulr0
        c0 = (du0 - dp / a2) * lam
        c1 = (dv + dp / n) * lp
        c2 = (dv - dp / n) * ln
        fl0, fl1, fl2 = _euler_flux(ul0, ul1, ul2, pl)
        fr0, fr1, fr2 = _euler_flux(ur0, ur1, ur2, pr)
        c = 0.5 * ulr0 / a
        df0 = c0 + c * c1 - c * c2
        df1 = c0 * u + c * c1 * (u + a) - c * c2 * (u - a)
        df2 = c0 * 0.5 * q2 + c * c1 * (h + u * a) - c * c2 * (h - u * a)
        return 0.5 * (fl0 + fr0 - df0), 0.5 * (fl1 + fr1 - df1), 0.5 * (fl2 + fr2 - df2)

    def _pressure_3d(u0, u, u4):
        return (GAMMA - 1.0) * (u4 - 0.5 * ops.sum(u ** 2) / u0)

    def _euler_flux_3d(u0, u, v, u4, p):
        pad = ops.concatenate([p, ops.zeros(2)])
        return u[0:1], pad + u * v, v[0:1] * (p + u4)

    def roe_flux_3d(ul0, ul, ul4, ur0, ur, ur4):
        """Roe's flux for the 3-D Euler equations (graphax's form): states of sizes 1, 3, 1."""
        du0, du, du4 = ur0 - ul0, ur - ul, ur4 - ul4
        du1, du2, du3 = du[0:1], du[1:2], du[2:]
        vl, vr = ul / ul0, ur / ur0
        w1 = ops.sqrt(ul0) + ops.sqrt(ur0)
        uvw = (ops.sqrt(ul0) * vl + ops.sqrt(ur0) * vr) / w1
        u, v, w = uvw[0:1], uvw[1:2], uvw[2:]
        pl = _pressure_3d(ul0, ul, ul4)
        hl = _enthalpy(ul0, ul4, pl)
        pr = _pressure_3d(ur0, ur, ur4)
        hr = _enthalpy(ur0, ur4, pr)
        h = (ops.sqrt(ul0) * hl + ops.sqrt(ur0) * hr) / w1
        q2 = ops.sum(uvw ** 2)
        a2 = (GAMMA - 1.0) * (h - 0.5 * q2)
        a = ops.sqrt(a2)
        lp, lam, lm = u + a, u, u - a
        c3 = ((GAMMA - 1.0) / a2 * ((h - q2) * du0 + ops.dot(uvw, du) - du4)) * lam
        c2 = (du3 / w - du1) * lam
        c1 = (du2 / v - du0) * lam
        k1 = du0 - c3
        k2 = (du1 - u * du0) / a
        c0 = 0.5 * (k1 - k2) * lm
        c4 = 0.5 * (k1 + k2) * lp
        fl0, fl, fl4 = _euler_flux_3d(ul0, ul, vl, ul4, pl)
        fr0, fr, fr4 = _euler_flux_3d(ur0, ur, vr, ur4, pr)
        df0 = c0 + c3 + c4 * lp
        df1 = c0 * lm + c3 * u + c4 * lp
        df2 = c0 * v + c1 * v + c3 * v + c4 * v
        df3 = c0 * w + c2 * w + c3 * w + c4 * w
        df4 = c0 * (h - u * a) + c1 * v ** 2 + c2 * w ** 2 + c3 * 0.5 * q2 + c4 * (h + u * a)
        df = ops.concatenate([df1, df2, df3])
        return 0.5 * (fl0 + fr0 - df0), 0.5 * (fl + fr - df), 0.5 * (fl4 + fr4 - df4)

    def _sin_sum(a, b):
        return ops.cos(a) * ops.sin(b) + ops.sin(a) * ops.cos(b)

    def _cos_sum(a, b):
        return ops.cos(a) * ops.cos(b) - ops.sin(a) * ops.sin(b)

    def robot_arm_6dof(t1, t2, t3, t4, t5, t6):
        """Position and Tait-Bryan angles of a 6-joint arm's end effector: 6 in, 6 out."""
        a1, a2, a3, d1, d4, d6 = 175.0, 890.0, 50.0, 575.0, 1035.0, 185.0
        c1, c2, c4, c5, c6 = ops.cos(t1), ops.cos(t2), ops.cos(t4), ops.cos(t5), ops.cos(t6)
        s1, s2, s4, s5, s6 = ops.sin(t1), ops.sin(t2), ops.sin(t4), ops.sin(t5), ops.sin(t6)
        c23, s23 = _cos_sum(t2, t3), _sin_sum(t2, t3)
        ax = s5 * (c1 * c23 * c4 + s1 * s4) + c1 * s23 * c5
        ay = s5 * (s1 * c23 * c4 - c1 * s4) + s1 * s23 * c5
        az = s23 * c4 * s5 - c23 * c5
        nz = c6 * (c23 * s5 + s23 * c4 * c5) - s23 * s4 * s6
        oz = -s6 * (c23 * s5 + s23 * c4 * c5) - s23 * s4 * c6
        z = ops.arctan2(ay, ax)
        y = ops.arctan2(ops.sqrt(1.0 - az ** 2), az)
        z2 = ops.arctan2(oz, -nz)
        px = d6 * (s5 * (c1 * c23 * c4 + s1 * s4) + c1 * s23 * c5) + c1 * (
            a1 + a2 * c2 + a3 * c23 + d4 * s23)
        py = d6 * (s5 * (s1 * c23 * c4 + c1 * s4) + s1 * s23 * c5) + s1 * (
            a1 + a2 * c2 + a3 * c23 + d4 * s23)
        pz = a2 * s2 + d1 + a3 * s23 - d4 * c23 + d6 * (s23 * c4 * s5 - c23 * c5)
        return px, py, pz, z, y, z2

    def human_heart_dipole(x1, x2, x3, x4, x5, x6, x7, x8):
        """MINPACK-2's human heart dipole residuals (all sigmas 1): 8 in, 8 out."""
        f1 = x1 + x2 - 1.0
        f2 = x3 + x4 - 1.0
        f3 = x5 * x1 + x6 * x2 - x7 * x3 - x8 * x4 - 1.0
        f4 = x7 * x1 + x8 * x2 + x5 * x3 + x6 * x4 - 1.0
        x57, x68 = x5 ** 2 - x7 ** 2, x6 ** 2 - x8 ** 2
        f5 = x1 * x57 - 2 * x3 * x5 * x7 + x2 * x68 - 2 * x4 * x6 * x8 - 1.0
        f6 = x3 * x57 - 2 * x1 * x5 * x7 + x4 * x68 - 2 * x2 * x6 * x8 - 1.0
        x557 = x5 * (x5 ** 2 - 3 * x7 ** 2)
        x775 = x7 * (x7 ** 2 - 3 * x5 ** 2)
        x668 = x6 * (x6 ** 2 - 3 * x8 ** 2)
        x886 = x8 * (x8 ** 2 - 3 * x6 ** 2)
        f7 = x1 * x557 + x3 * x775 + x2 * x668 + x4 * x886 - 1.0
        f8 = x3 * x557 - x1 * x775 + x4 * x668 - x2 * x886 - 1.0
        return f1, f2, f3, f4, f5, f6, f7, f8

    def propane_combustion(x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11):
        """MINPACK-2's propane combustion, full formulation (p = 40, R = 10): 11 in, 11 out."""
        p, r = 40.0, 10.0
        px11 = ops.sqrt(p / x11)
        f1 = x1 + x4 - 3.0
        f2 = 2 * x1 + x2 + x4 + x7 + x8 + x9 + 2 * x10 - r
        f3 = 2 * x2 + 2 * x5 + x6 + x7 - 8.0
        f4 = 2 * x3 + x9 - 4 * r
        f5 = x2 * x4 - x1 * x5
        f6 = ops.sqrt(x2 * x4) - ops.sqrt(x1) * px11 * x6
        f7 = ops.sqrt(x1 * x2) - ops.sqrt(x4) * x7 * px11
        f8 = x1 - x4 * x8 * p / x11
        f9 = x1 * ops.sqrt(x3) - x4 * x9 * px11
        f10 = x1 ** 2 - x4 ** 2 * x10 * p / x11
        f11 = x11 - x1 - x2 - x3 - x4 - x5 - x6 - x7 - x8 - x9 - x10
        return f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11

    def _softmax_cross_entropy(logits, labels):
        return -ops.sum(labels * ops.log(ops.softmax(logits, axis=-1)), axis=-1)

    def _layer_norm(x, gamma, beta):
        # As in graphax: statistics over the last axis, broadcast back against that axis.
        mu = ops.mean(x, axis=-1)
        sigma = ops.sum((x - mu) ** 2, axis=-1) / x.shape[-1]
        return (x - mu) / ops.sqrt(sigma + 1e-6) * gamma + beta

    def perceptron(x, y, W1, b1, W2, b2, gamma, beta):
        """A two-layer perceptron 4-8-4 with layer norm and softmax cross-entropy."""
        out = ops.tanh(W1 @ x + b1)
        out = _layer_norm(out, gamma, beta)
        out = ops.tanh(W2 @ out + b2)
        return _softmax_cross_entropy(out, y)

    def _encoder_block(x, WQ, WK, WV, W, b, gamma, beta):
        q, k, v = WQ @ x, WK @ x, WV @ x
        attention = ops.softmax(q.T @ k, axis=1) @ v
        c = _layer_norm(x + attention, gamma, beta)
        z = W @ c + b
        return z * ops.sigmoid(z)   # SiLU

    def encoder(x, y, WQ1, WQ2, WK1, WK2, WV1, WV2, W1, W2, b1, b2, gamma0, beta0, gamma1, beta1):
        """Two attention blocks on a 4 x 4 input and softmax cross-entropy (graphax's Encoder)."""
        z1 = _encoder_block(x, WQ1, WK1, WV1, W1, b1, gamma0, beta0)
        z2 = _encoder_block(z1, WQ2, WK2, WV2, W2, b2, gamma1, beta1)
        return _softmax_cross_entropy(z2, y)

    return {"RoeFlux_1d": roe_flux_1d, "RoeFlux_3d": roe_flux_3d, "RobotArm_6DOF": robot_arm_6dof,
            "HumanHeartDipole": human_heart_dipole, "PropaneCombustion": propane_combustion,
            "Perceptron": perceptron, "Encoder": encoder}


CHAINRULE = SimpleNamespace(
    sqrt=cr.sqrt, abs=cr.abs, sin=cr.sin, cos=cr.cos, arctan2=cr.arctan2, tanh=cr.tanh,
    log=cr.log, sigmoid=cr.sigmoid, dot=cr.dot, concatenate=cr.concatenate,
    zeros=cr.zeros, sum=cr.sum, mean=cr.mean, softmax=cr.softmax)


def torch_ops():
    """The same names in PyTorch (imported only when asked for)."""
    import torch
    return SimpleNamespace(
        sqrt=torch.sqrt, abs=torch.abs, sin=torch.sin, cos=torch.cos, arctan2=torch.atan2,
        tanh=torch.tanh, log=torch.log, sigmoid=torch.sigmoid, dot=torch.dot,
        concatenate=torch.cat, zeros=lambda n: torch.zeros(n, dtype=torch.float64),
        sum=lambda x, axis=None: torch.sum(x) if axis is None else torch.sum(x, dim=axis),
        mean=lambda x, axis=None: torch.mean(x) if axis is None else torch.mean(x, dim=axis),
        softmax=lambda x, axis=-1: torch.softmax(x, dim=axis))


def suite(seed: int = 0, ops=CHAINRULE) -> dict:
    """name -> (function, arguments, argnums); the arguments graphax's tests use."""
    f = functions(ops)
    rng = np.random.default_rng(seed)
    normal = rng.standard_normal
    perceptron_args = (np.ones(4), normal(4), normal((8, 4)), normal(8), normal((4, 8)),
                       normal(4), 0.0, 1.0)
    encoder_args = (np.ones((4, 4)), normal((2, 4)), *[normal((4, 4)) for _ in range(7)],
                    normal((2, 4)), normal(4), normal((2, 1)), 0.0, 1.0, 0.0, 1.0)
    return {
        "RoeFlux_1d": (f["RoeFlux_1d"], (0.01, 0.02, 0.02, 0.01, 0.03, 0.03), tuple(range(6))),
        "RoeFlux_3d": (f["RoeFlux_3d"], (np.array([0.1]), np.array([0.1, 0.2, 0.3]),
                                         np.array([0.5]), np.array([0.2]),
                                         np.array([0.2, 0.2, 0.4]), np.array([0.6])),
                       tuple(range(6))),
        "RobotArm_6DOF": (f["RobotArm_6DOF"], (0.02,) * 6, tuple(range(6))),
        "HumanHeartDipole": (f["HumanHeartDipole"], tuple(rng.uniform(0.1, 1.0, 8)),
                             tuple(range(8))),
        "PropaneCombustion": (f["PropaneCombustion"], tuple(rng.uniform(0.1, 1.0, 11)),
                              tuple(range(11))),
        "Perceptron": (f["Perceptron"], perceptron_args, tuple(range(8))),
        "Encoder": (f["Encoder"], encoder_args, tuple(range(2, 16))),
    }
