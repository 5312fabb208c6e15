package io.evocompress.model;

import io.evocompress.checkpoint.CheckpointReader;

/**
 * An independent, deliberately naive forward pass in double precision: plain loops over tokens,
 * heads and positions, no DJL. It is checked against the float64 PyTorch reference logits of
 * stories260K, and then serves as the reference for features that fixture does not exercise
 * (q/k/v/o biases, sliding-window attention, rope scaling).
 */
final class NaiveReferenceForward {
    private final ModelConfig c;
    private final CheckpointReader ckpt;

    NaiveReferenceForward(CheckpointReader ckpt) {
        this.ckpt = ckpt;
        this.c = ModelLoader.config(ckpt);
    }

    /** Logits [T][V] for one sequence. */
    double[][] logits(int[] ids) {
        int t = ids.length;
        int h = c.hiddenSize();
        double[] embed = read("model.embed_tokens.weight");
        double[][] x = new double[t][h];
        for (int i = 0; i < t; i++) {
            System.arraycopy(embed, ids[i] * h, x[i], 0, h);
        }
        double[] invFreq = new double[c.headDim() / 2];
        for (int i = 0; i < invFreq.length; i++) {
            invFreq[i] = 1.0 / Math.pow(c.ropeTheta(), 2.0 * i / c.headDim());
        }
        if (c.ropeScaling() != null) {
            invFreq = c.ropeScaling().apply(invFreq);
        }
        for (int layer = 0; layer < c.numLayers(); layer++) {
            String p = "model.layers." + layer + ".";
            double[][] a = new double[t][];
            double[][] q = new double[t][], k = new double[t][], v = new double[t][];
            for (int i = 0; i < t; i++) {
                double[] n = rmsNorm(x[i], read(p + "input_layernorm.weight"));
                q[i] = rope(linear(p + "self_attn.q_proj", n, c.qkvBias()), i, invFreq, c.numHeads());
                k[i] = rope(linear(p + "self_attn.k_proj", n, c.qkvBias()), i, invFreq, c.numKvHeads());
                v[i] = linear(p + "self_attn.v_proj", n, c.qkvBias());
            }
            int d = c.headDim();
            for (int i = 0; i < t; i++) {
                double[] out = new double[c.qDim()];
                for (int head = 0; head < c.numHeads(); head++) {
                    int kvHead = head / c.groupSize();
                    double[] scores = new double[i + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= i; j++) {
                        boolean visible = c.slidingWindow() == 0 || i - j < c.slidingWindow();
                        double s = 0;
                        for (int e = 0; e < d; e++) {
                            s += q[i][head * d + e] * k[j][kvHead * d + e];
                        }
                        scores[j] = visible ? s / Math.sqrt(d) : Double.NEGATIVE_INFINITY;
                        max = Math.max(max, scores[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= i; j++) {
                        scores[j] = Math.exp(scores[j] - max);
                        sum += scores[j];
                    }
                    for (int j = 0; j <= i; j++) {
                        for (int e = 0; e < d; e++) {
                            out[head * d + e] += scores[j] / sum * v[j][kvHead * d + e];
                        }
                    }
                }
                a[i] = linear(p + "self_attn.o_proj", out, c.oBias());
            }
            for (int i = 0; i < t; i++) {
                for (int e = 0; e < h; e++) {
                    x[i][e] += a[i][e];
                }
                double[] n = rmsNorm(x[i], read(p + "post_attention_layernorm.weight"));
                double[] gate = linear(p + "mlp.gate_proj", n, c.mlpBias());
                double[] up = linear(p + "mlp.up_proj", n, c.mlpBias());
                for (int e = 0; e < gate.length; e++) {
                    gate[e] = gate[e] / (1 + Math.exp(-gate[e])) * up[e];
                }
                double[] down = linear(p + "mlp.down_proj", gate, c.mlpBias());
                for (int e = 0; e < h; e++) {
                    x[i][e] += down[e];
                }
            }
        }
        double[] head = read(c.tieWordEmbeddings() ? "model.embed_tokens.weight" : "lm_head.weight");
        double[][] logits = new double[t][c.vocabSize()];
        for (int i = 0; i < t; i++) {
            double[] n = rmsNorm(x[i], read("model.norm.weight"));
            for (int w = 0; w < c.vocabSize(); w++) {
                double s = 0;
                for (int e = 0; e < h; e++) {
                    s += head[w * h + e] * n[e];
                }
                logits[i][w] = s;
            }
        }
        return logits;
    }

    private double[] rope(double[] x, int pos, double[] invFreq, int heads) {
        int d = c.headDim();
        int half = d / 2;
        double[] out = x.clone();
        for (int hh = 0; hh < heads; hh++) {
            for (int i = 0; i < half; i++) {
                double angle = pos * invFreq[i];
                double x1 = x[hh * d + i];
                double x2 = x[hh * d + i + half];
                out[hh * d + i] = x1 * Math.cos(angle) - x2 * Math.sin(angle);
                out[hh * d + i + half] = x2 * Math.cos(angle) + x1 * Math.sin(angle);
            }
        }
        return out;
    }

    private double[] rmsNorm(double[] x, double[] w) {
        double ss = 0;
        for (double v : x) {
            ss += v * v;
        }
        double scale = 1 / Math.sqrt(ss / x.length + c.rmsNormEps());
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i] * scale * w[i];
        }
        return out;
    }

    private double[] linear(String name, double[] in, boolean bias) {
        double[] w = read(name + ".weight");
        int outDim = w.length / in.length;
        double[] b = bias ? read(name + ".bias") : null;
        double[] out = new double[outDim];
        for (int o = 0; o < outDim; o++) {
            double s = b == null ? 0 : b[o];
            for (int i = 0; i < in.length; i++) {
                s += w[o * in.length + i] * in[i];
            }
            out[o] = s;
        }
        return out;
    }

    private double[] read(String name) {
        float[] f = ckpt.readFloat(name);
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }
}
