package io.evocompress.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.evocompress.checkpoint.CheckpointReader;

import java.io.IOException;

/**
 * A second, deliberately naive forward for the OPT, BLOOM and Phi-3 families in double precision,
 * written from the Hugging Face modeling code independently of the model package: it reads
 * config.json with its own field names and the checkpoint's tensors by their Hugging Face names
 * (fused tensors sliced here), and loops over tokens, heads and positions. It is checked against the
 * family fixtures' float64 reference logits and then serves as the reference for what those
 * fixtures do not exercise (OPT post-LN with project_in/out, ALiBi with a head count that is not a
 * power of two, Phi-3 longrope, tied and untied heads, BLOOM blocks with heads removed as DarwinLM
 * writes them: {@code evocompress_kept_heads_per_layer} read here on its own).
 */
final class NaiveFamilyForward {
    private final JsonNode cfg;
    private final CheckpointReader ckpt;
    private final String type;

    NaiveFamilyForward(CheckpointReader ckpt) {
        this.ckpt = ckpt;
        try {
            this.cfg = new ObjectMapper().readTree(ckpt.configJson());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        this.type = cfg.get("model_type").asText();
    }

    double[][] logits(int[] ids) {
        return switch (type) {
            case "opt" -> opt(ids);
            case "bloom" -> bloom(ids);
            case "phi3" -> phi3(ids);
            default -> throw new IllegalArgumentException(type);
        };
    }

    // ---------------------------------------------------------------- OPT

    private double[][] opt(int[] ids) {
        int t = ids.length;
        int h = cfg.get("hidden_size").asInt();
        int heads = cfg.get("num_attention_heads").asInt();
        int proj = cfg.path("word_embed_proj_dim").asInt(h);
        boolean pre = cfg.path("do_layer_norm_before").asBoolean(true);
        String d = "model.decoder.";
        double[] embed = read(d + "embed_tokens.weight");
        double[] pos = read(d + "embed_positions.weight");
        double[][] x = new double[t][];
        for (int i = 0; i < t; i++) {
            double[] e = row(embed, ids[i], proj);
            if (proj != h) {
                e = matVec(read(d + "project_in.weight"), null, e);
            }
            x[i] = add(e, row(pos, i + 2, h));
        }
        for (int layer = 0; layer < cfg.get("num_hidden_layers").asInt(); layer++) {
            String p = d + "layers." + layer + ".";
            double[][] in = new double[t][];
            for (int i = 0; i < t; i++) {
                in[i] = pre ? layerNorm(x[i], p + "self_attn_layer_norm", 1e-5) : x[i];
            }
            double[][] q = new double[t][], k = new double[t][], v = new double[t][];
            for (int i = 0; i < t; i++) {
                q[i] = linear(p + "self_attn.q_proj", in[i]);
                k[i] = linear(p + "self_attn.k_proj", in[i]);
                v[i] = linear(p + "self_attn.v_proj", in[i]);
            }
            double[][] att = attention(q, k, v, heads, null);
            for (int i = 0; i < t; i++) {
                x[i] = add(x[i], linear(p + "self_attn.out_proj", att[i]));
                if (!pre) {
                    x[i] = layerNorm(x[i], p + "self_attn_layer_norm", 1e-5);
                }
                double[] n = pre ? layerNorm(x[i], p + "final_layer_norm", 1e-5) : x[i];
                double[] f = linear(p + "fc1", n);
                for (int e = 0; e < f.length; e++) {
                    f[e] = Math.max(0, f[e]);
                }
                x[i] = add(x[i], linear(p + "fc2", f));
                if (!pre) {
                    x[i] = layerNorm(x[i], p + "final_layer_norm", 1e-5);
                }
            }
        }
        double[] head = read(cfg.path("tie_word_embeddings").asBoolean(true) ? d + "embed_tokens.weight" : "lm_head.weight");
        double[][] out = new double[t][];
        for (int i = 0; i < t; i++) {
            double[] y = x[i];
            if (pre && !cfg.path("_remove_final_layer_norm").asBoolean(false)) {
                y = layerNorm(y, d + "final_layer_norm", 1e-5);
            }
            if (proj != h) {
                y = matVec(read(d + "project_out.weight"), null, y);
            }
            out[i] = matVec(head, null, y);
        }
        return out;
    }

    // ---------------------------------------------------------------- BLOOM

    private double[][] bloom(int[] ids) {
        int t = ids.length;
        int h = cfg.get("hidden_size").asInt();
        int heads = cfg.get("n_head").asInt();
        int hd = h / heads;
        double eps = cfg.path("layer_norm_epsilon").asDouble(1e-5);
        double[] embed = read("transformer.word_embeddings.weight");
        double[][] x = new double[t][];
        for (int i = 0; i < t; i++) {
            x[i] = layerNorm(row(embed, ids[i], h), "transformer.word_embeddings_layernorm", eps);
        }
        // slopes straight from the paper's recipe: 2^(-8k/n) for the closest power of two n, then
        // every other slope of the 2n sequence for the remaining heads
        int n = 1;
        while (n * 2 <= heads) {
            n *= 2;
        }
        double[] slopes = new double[heads];
        for (int k = 0; k < heads; k++) {
            slopes[k] = k < n ? Math.pow(2, -8.0 * (k + 1) / n) : Math.pow(2, -8.0 * (2 * (k - n) + 1) / (2 * n));
        }
        // a structurally pruned model lists each layer's kept heads (dense indices): the fused tensor then
        // holds those heads' [q; k; v] blocks in order, and each keeps the slope of its dense index
        JsonNode keptPerLayer = cfg.get("evocompress_kept_heads_per_layer");
        for (int layer = 0; layer < cfg.get("n_layer").asInt(); layer++) {
            String p = "transformer.h." + layer + ".";
            int[] kept = new int[keptPerLayer == null ? heads : keptPerLayer.get(layer).size()];
            double[] keptSlopes = new double[kept.length];
            for (int j = 0; j < kept.length; j++) {
                kept[j] = keptPerLayer == null ? j : keptPerLayer.get(layer).get(j).asInt();
                keptSlopes[j] = slopes[kept[j]];
            }
            int kh = kept.length;
            double[][] q = new double[t][], k = new double[t][], v = new double[t][];
            for (int i = 0; i < t; i++) {
                double[] fused = linear(p + "self_attention.query_key_value", layerNorm(x[i], p + "input_layernorm", eps));
                q[i] = new double[kh * hd];
                k[i] = new double[kh * hd];
                v[i] = new double[kh * hd];
                for (int head = 0; head < kh; head++) {
                    for (int e = 0; e < hd; e++) {
                        q[i][head * hd + e] = fused[head * 3 * hd + e];
                        k[i][head * hd + e] = fused[head * 3 * hd + hd + e];
                        v[i][head * hd + e] = fused[head * 3 * hd + 2 * hd + e];
                    }
                }
            }
            double[][] att = attention(q, k, v, kh, keptSlopes);
            for (int i = 0; i < t; i++) {
                x[i] = add(x[i], linear(p + "self_attention.dense", att[i]));
                double[] u = linear(p + "mlp.dense_h_to_4h", layerNorm(x[i], p + "post_attention_layernorm", eps));
                for (int e = 0; e < u.length; e++) {
                    double z = u[e];
                    u[e] = 0.5 * z * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (z + 0.044715 * z * z * z)));
                }
                x[i] = add(x[i], linear(p + "mlp.dense_4h_to_h", u));
            }
        }
        double[] head = read(cfg.path("tie_word_embeddings").asBoolean(true) ? "transformer.word_embeddings.weight" : "lm_head.weight");
        double[][] out = new double[t][];
        for (int i = 0; i < t; i++) {
            out[i] = matVec(head, null, layerNorm(x[i], "transformer.ln_f", eps));
        }
        return out;
    }

    // ---------------------------------------------------------------- Phi-3

    private double[][] phi3(int[] ids) {
        int t = ids.length;
        int h = cfg.get("hidden_size").asInt();
        int heads = cfg.get("num_attention_heads").asInt();
        int kvHeads = cfg.path("num_key_value_heads").asInt(heads);
        int hd = h / heads;
        double eps = cfg.path("rms_norm_eps").asDouble(1e-6);
        double theta = cfg.path("rope_theta").asDouble(10000);
        double[] inv = new double[hd / 2];
        for (int i = 0; i < inv.length; i++) {
            inv[i] = Math.pow(theta, -2.0 * i / hd);
        }
        double mscale = 1;
        JsonNode scaling = cfg.get("rope_scaling");
        if (scaling != null && !scaling.isNull()) {
            int original = cfg.get("original_max_position_embeddings").asInt();
            int max = cfg.get("max_position_embeddings").asInt();
            JsonNode factors = scaling.get(t > original ? "long_factor" : "short_factor");
            for (int i = 0; i < inv.length; i++) {
                inv[i] /= factors.get(i).asDouble();
            }
            double s = (double) max / original;
            mscale = s <= 1 ? 1 : Math.sqrt(1 + Math.log(s) / Math.log(original));
        }
        double[] embed = read("model.embed_tokens.weight");
        double[][] x = new double[t][];
        for (int i = 0; i < t; i++) {
            x[i] = row(embed, ids[i], h);
        }
        int inter = cfg.get("intermediate_size").asInt();
        for (int layer = 0; layer < cfg.get("num_hidden_layers").asInt(); layer++) {
            String p = "model.layers." + layer + ".";
            double[][] q = new double[t][], k = new double[t][], v = new double[t][];
            for (int i = 0; i < t; i++) {
                double[] qkv = linear(p + "self_attn.qkv_proj", rmsNorm(x[i], read(p + "input_layernorm.weight"), eps));
                q[i] = rotate(java.util.Arrays.copyOfRange(qkv, 0, h), i, inv, mscale, hd);
                k[i] = rotate(java.util.Arrays.copyOfRange(qkv, h, h + kvHeads * hd), i, inv, mscale, hd);
                v[i] = java.util.Arrays.copyOfRange(qkv, h + kvHeads * hd, h + 2 * kvHeads * hd);
            }
            double[][] att = attention(q, k, v, heads, null);
            for (int i = 0; i < t; i++) {
                x[i] = add(x[i], linear(p + "self_attn.o_proj", att[i]));
                double[] gu = linear(p + "mlp.gate_up_proj", rmsNorm(x[i], read(p + "post_attention_layernorm.weight"), eps));
                double[] a = new double[inter];
                for (int e = 0; e < inter; e++) {
                    double g = gu[e];
                    a[e] = g / (1 + Math.exp(-g)) * gu[inter + e];
                }
                x[i] = add(x[i], linear(p + "mlp.down_proj", a));
            }
        }
        double[] head = read(cfg.path("tie_word_embeddings").asBoolean(false) ? "model.embed_tokens.weight" : "lm_head.weight");
        double[][] out = new double[t][];
        for (int i = 0; i < t; i++) {
            out[i] = matVec(head, null, rmsNorm(x[i], read("model.norm.weight"), eps));
        }
        return out;
    }

    // ---------------------------------------------------------------- shared loops

    /** Causal multi-/grouped-query attention; ALiBi adds slope_h * (j - i) when slopes are given. */
    private static double[][] attention(double[][] q, double[][] k, double[][] v, int heads, double[] slopes) {
        int t = q.length;
        int hd = q[0].length / heads;
        int kvHeads = k[0].length / hd;
        double[][] out = new double[t][q[0].length];
        for (int i = 0; i < t; i++) {
            for (int head = 0; head < heads; head++) {
                int kv = head / (heads / kvHeads);
                double[] s = new double[i + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j <= i; j++) {
                    double dot = 0;
                    for (int e = 0; e < hd; e++) {
                        dot += q[i][head * hd + e] * k[j][kv * hd + e];
                    }
                    s[j] = dot / Math.sqrt(hd) + (slopes == null ? 0 : slopes[head] * (j - i));
                    max = Math.max(max, s[j]);
                }
                double sum = 0;
                for (int j = 0; j <= i; j++) {
                    s[j] = Math.exp(s[j] - max);
                    sum += s[j];
                }
                for (int j = 0; j <= i; j++) {
                    for (int e = 0; e < hd; e++) {
                        out[i][head * hd + e] += s[j] / sum * v[j][kv * hd + e];
                    }
                }
            }
        }
        return out;
    }

    private static double[] rotate(double[] x, int pos, double[] inv, double mscale, int hd) {
        double[] out = x.clone();
        int half = hd / 2;
        for (int base = 0; base < x.length; base += hd) {
            for (int i = 0; i < half; i++) {
                double c = Math.cos(pos * inv[i]) * mscale;
                double s = Math.sin(pos * inv[i]) * mscale;
                out[base + i] = x[base + i] * c - x[base + i + half] * s;
                out[base + i + half] = x[base + i + half] * c + x[base + i] * s;
            }
        }
        return out;
    }

    private double[] layerNorm(double[] x, String stem, double eps) {
        double[] w = read(stem + ".weight");
        double[] b = read(stem + ".bias");
        double mean = 0;
        for (double v : x) {
            mean += v / x.length;
        }
        double var = 0;
        for (double v : x) {
            var += (v - mean) * (v - mean) / x.length;
        }
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = (x[i] - mean) / Math.sqrt(var + eps) * w[i] + b[i];
        }
        return out;
    }

    private static double[] rmsNorm(double[] x, double[] w, double eps) {
        double ss = 0;
        for (double v : x) {
            ss += v * v / x.length;
        }
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i] / Math.sqrt(ss + eps) * w[i];
        }
        return out;
    }

    private double[] linear(String name, double[] in) {
        return matVec(read(name + ".weight"), ckpt.has(name + ".bias") ? read(name + ".bias") : null, in);
    }

    private static double[] matVec(double[] w, double[] b, double[] in) {
        double[] out = new double[w.length / in.length];
        for (int o = 0; o < out.length; o++) {
            double s = b == null ? 0 : b[o];
            for (int i = 0; i < in.length; i++) {
                s += w[o * in.length + i] * in[i];
            }
            out[o] = s;
        }
        return out;
    }

    private static double[] row(double[] table, int r, int width) {
        return java.util.Arrays.copyOfRange(table, r * width, (r + 1) * width);
    }

    private static double[] add(double[] a, double[] b) {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i] + b[i];
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
