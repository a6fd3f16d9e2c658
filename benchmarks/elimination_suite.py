"""The AlphaGrad / graphax benchmark functions, written in chainrule from their definitions.

Lohoff and Neftci, "Optimizing Automatic Differentiation with Deep Reinforcement
Learning" (NeurIPS 2024), and graphax's examples: the 1-D Roe flux (Roe 1981), the 6-DOF
robot arm's forward kinematics, the human heart dipole and propane combustion systems
(MINPACK-2), a small perceptron, a transformer encoder, and AlphaGrad's two generated
random functions f (vectors and matrices) and g (scalars). Each entry gives the function,
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

    def random_f(v0, v1, v2, v4):
        """AlphaGrad's generated random function f (graphax's examples/randoms.py), line by
        line: inputs of shapes (4,), (2, 3), (4, 4), (4, 1); 5 outputs."""
        v5 = v2 ** 3
        v6 = ops.einsum("ij,ik->jk", v4, v5)        # dot_general: (1, 4)
        v7 = ops.einsum("ij,kj->ik", v5, v6)        # (4, 1)
        v8 = v6 ** 2
        v9 = ops.einsum("i,ki->k", v0, v8)          # (1,)
        v10 = ops.sqrt(v0)
        v11 = ops.arccos(v7)
        v13 = v11 @ v8                              # (4, 4)
        v9_ = ops.reshape(v9, (1, 1))
        v14 = v11 + v9_
        v15 = v14 - v9_
        v16 = ops.cos(v9)
        v18 = ops.arcsinh(ops.reshape(v10, (4, 1)) + v13)
        v16_ = ops.reshape(v16, (1, 1))
        v19 = v15 + v16_
        v20 = -v1
        v21 = ops.sqrt(v10)
        v22 = ops.einsum("i,ji->j", v21, v18)       # (4,)
        v23 = ops.tanh(v1)
        v24 = ops.arctan(v19)
        v25 = v24 ** 2
        v26 = ops.cos(v22)
        v27 = v16_ - v25
        v28 = ops.cosh(v23)
        v29 = ops.sum(v20, axis=0)
        v30 = ops.transpose(v28)
        v31 = ops.sum(v16, axis=0)
        v33 = ops.reshape(v29, (3, 1)) - v30
        v34 = v31 / v33
        v35 = v13 + ops.reshape(v10, (4, 1))
        v36 = ops.reshape(v26, (4, 1)) * v35
        v37 = v26 ** 2
        v38 = ops.amax(v34, axis=1)
        v39 = ops.sinh(v36)
        v40 = ops.exp(v27)
        v41 = v39[3:4, 3:4]
        v43 = ops.sum(v37, axis=0) + v38
        v44 = ops.einsum("i,ij->j", v26, v40)       # (1,)
        v46 = ops.einsum("ij,kj->ik", v24, v15)     # (4, 4)
        v47 = ops.stop_gradient(v41)
        v48 = ops.sigmoid(ops.arcsinh(v43))
        v49 = ops.dot(v29, v48)
        v50 = ops.dot(v22, v21)
        v51 = ops.einsum("i,ji->j", v44, v47)       # (1,)
        v52 = ops.einsum("ij,ik->jk", v30, v33)     # (2, 2)
        v53 = v46 * v50
        v55 = ops.sqrt(ops.abs(v51))
        v56 = v52 - v49
        v57 = ops.cosh(ops.sqrt(v37))
        v59 = ops.reshape(v57, (4, 1)) + v53
        v61 = ops.sin(-v37)
        v62 = ops.arctan(v59)
        v65 = ops.amin(ops.sum(v62, axis=0), axis=0) - v55
        v67 = ops.sum(v56, axis=1)
        v68 = ops.reshape(v61, (4, 1)) - ops.sqrt(v2)
        v69 = ops.dot(v57 ** 2, v61)
        v70 = ops.einsum("ij,ik->jk", v68, v62)
        v71 = ops.reshape(v22, (4, 1)) + v2
        v73 = ops.einsum("ij,ik->jk", ops.sigmoid(v70), v71)
        v74 = v6 / ops.reshape(v37, (1, 4))
        return v74, v65, v67, v69, v73

    def random_g(v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14):
        """AlphaGrad's generated random function g (graphax's examples/randoms.py): 15
        scalars in, 20 out; v15 and v16 are the constant ones of the original."""
        v15 = v16 = ops.one()
        v17 = ops.arctan2(v15, v3)
        v18 = v15 ** v14
        v19 = ops.arctan2(v13, v17)
        v20 = v17 ** v5
        v21 = v9 - v8
        v22 = ops.arctan(v10)
        v23 = v21 * v0
        v24 = v22 - v18
        v25 = v24 ** v11
        v26 = v21 + v12
        v27 = ops.exp(v2)
        v28 = v21 + v26
        v29 = v16 ** v17
        v30 = ops.sin(v3)
        v31 = v2 / v23
        v32 = ops.arctan2(v24, v26)
        v33 = v29 - v25
        v34 = ops.arctan(v33)
        v35 = v7 * v27
        v36 = ops.tan(v13)
        v37 = v27 + v19
        v38 = v7 / v6
        v39 = v25 - v34
        v40 = v29 - v6
        v41 = v35 ** v4
        v42 = ops.cos(v0)
        v43 = v40 - v19
        v44 = v41 / v7
        v45 = v40 - v8
        v46 = ops.arctan2(v16, v43)
        v47 = v8 / v30
        v48 = v37 ** v36
        v49 = v47 ** v44
        v50 = ops.arctan2(v45, v40)
        v51 = ops.arctan2(v44, v13)
        v52 = v4 / v34
        v53 = ops.arctan2(v41, v1)
        v54 = ops.arctan2(v25, v53)
        v55 = v12 + v51
        v56 = v3 ** v48
        v57 = v24 - v32
        v58 = ops.arctanh(v48)
        v59 = ops.arctanh(v54)
        v60 = ops.arctan2(v2, v26)
        v61 = v52 - v18
        v62 = ops.cos(v38)
        v63 = v8 / v32
        v64 = ops.arctan2(v42, v46)
        v65 = ops.sinh(v36)
        v66 = v61 - v50
        v67 = v13 ** v39
        v68 = v37 ** v26
        v69 = v68 - v43
        v70 = ops.log(v65)
        v71 = v23 ** v58
        v72 = ops.arctan2(v50, v69)
        v73 = v20 / v72
        v74 = v41 * v56
        v75 = v39 * v33
        v76 = v61 * v15
        v77 = v66 ** v64
        v78 = ops.arctan2(v53, v25)
        v79 = v59 - v60
        v80 = ops.arctan2(v73, v41)
        v81 = v74 * v46
        v82 = v5 ** 2
        v83 = ops.arctan2(v28, v62)
        v84 = ops.arctan2(v39, v9)
        v85 = v4 * v12
        v86 = v57 / v56
        v87 = ops.arctan2(v61, v63)
        v88 = ops.arcsinh(v14)
        v89 = v86 ** v83
        v90 = ops.arcsin(v66)
        v91 = v70 - v79
        v92 = ops.arctan2(v37, v65)
        v93 = v67 * v77
        v94 = v87 ** v55
        v95 = v49 ** 2
        v96 = v92 / v94
        v97 = v15 + v95
        v98 = v91 / v76
        v99 = ops.arctanh(v46)
        v100 = v75 * v45
        v101 = v100 / v28
        v102 = v90 + v29
        v103 = ops.arctan2(v80, v84)
        v104 = v20 - v91
        v105 = v82 + v90
        v106 = v102 / v103
        v107 = v75 ** v42
        v108 = v68 * v62
        v109 = v102 / v1
        v110 = v98 ** v101
        v111 = -v100
        v112 = v31 / v89
        v113 = v105 / v108
        v114 = v22 - v70
        v115 = v106 * v44
        v116 = v107 - v81
        v117 = v58 ** v115
        v118 = v78 - v108
        v119 = ops.tan(v87)
        v120 = v87 ** v48
        v121 = v105 + v38
        return (v121, v71, v85, v88, v93, v96, v97, v99, v104, v109, v110, v111, v112, v113,
                v114, v116, v117, v118, v119, v120)

    return {"RoeFlux_1d": roe_flux_1d, "RoeFlux_3d": roe_flux_3d, "RobotArm_6DOF": robot_arm_6dof,
            "HumanHeartDipole": human_heart_dipole, "PropaneCombustion": propane_combustion,
            "Perceptron": perceptron, "Encoder": encoder, "f": random_f, "g": random_g}


CHAINRULE = SimpleNamespace(
    sqrt=cr.sqrt, abs=cr.abs, sin=cr.sin, cos=cr.cos, tan=cr.tan, arctan2=cr.arctan2,
    arctan=cr.arctan, arcsin=cr.arcsin, arccos=cr.arccos, arcsinh=cr.arcsinh,
    arctanh=cr.arctanh, sinh=cr.sinh, cosh=cr.cosh, tanh=cr.tanh, exp=cr.exp, log=cr.log,
    sigmoid=cr.sigmoid, dot=cr.dot, einsum=cr.einsum, reshape=cr.reshape,
    transpose=cr.transpose, concatenate=cr.concatenate, zeros=cr.zeros,
    one=lambda: cr.ones(()), sum=cr.sum, mean=cr.mean, amax=cr.amax, amin=cr.amin,
    softmax=cr.softmax, stop_gradient=cr.stop_gradient)


def torch_ops():
    """The same names in PyTorch (imported only when asked for)."""
    import torch
    return SimpleNamespace(
        sqrt=torch.sqrt, abs=torch.abs, sin=torch.sin, cos=torch.cos, tan=torch.tan,
        arctan2=torch.atan2, arctan=torch.atan, arcsin=torch.asin, arccos=torch.acos,
        arcsinh=torch.asinh, arctanh=torch.atanh, sinh=torch.sinh, cosh=torch.cosh,
        tanh=torch.tanh, exp=torch.exp, log=torch.log, sigmoid=torch.sigmoid, dot=torch.dot,
        einsum=torch.einsum, reshape=torch.reshape, transpose=lambda x: x.T,
        concatenate=torch.cat, zeros=lambda n: torch.zeros(n, dtype=torch.float64),
        one=lambda: torch.ones((), dtype=torch.float64),
        amax=lambda x, axis: torch.amax(x, dim=axis),
        amin=lambda x, axis: torch.amin(x, dim=axis), stop_gradient=lambda x: x.detach(),
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
        # graphax draws f's inputs uniformly in [0, 1); at 0.7 of that, arccos stays in
        # its domain, so the Jacobian is finite (the counts do not depend on the point)
        "f": (f["f"], tuple(0.7 * np.random.default_rng(250197).uniform(size=shape)
                            for shape in [(4,), (2, 3), (4, 4), (4, 1)]), tuple(range(4))),
        "g": (f["g"], (0.15,) * 15, tuple(range(15))),
    }
