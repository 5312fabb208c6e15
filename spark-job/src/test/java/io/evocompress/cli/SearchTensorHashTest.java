package io.evocompress.cli;

import io.evocompress.BadFiles;
import io.evocompress.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A bits search reusing a database whose model changed only between the weights fingerprint's windows
 * (babyllama105's model.layers.2.mlp.up_proj.weight, one value at byte 8000, as in {@link BadInputTest}):
 * the database id is unchanged, so the search reuses the database whole, and its candidate workers, which
 * hash each recorded tensor as they load the dense model, fail naming the tensor, the checkpoint file and
 * the database, with exit 1, no stack trace and no result.json. (The sparsity domain: {@link BadInputTest}.)
 */
class SearchTensorHashTest {
    @TempDir
    Path tmp;

    private static final String TEXT = "tinystories_train_head.txt";

    @Test
    void aBitsSearchReusingADatabaseOfOtherWeightsFailsNamingTheTensor() throws Exception {
        Path model = BadFiles.copyCheckpoint(Fixtures.babyllama105(), tmp.resolve("baby"));
        Path weights = model.resolve("model.safetensors");
        Path db = tmp.resolve("db-bits");
        String[] shared = {"model=" + model, "calibration.data=" + Fixtures.text(TEXT), "calibration.sequences=4",
            "calibration.seq-len=64", "calibration.shards=2", "database.bits=[3]", "database.group-size=64"};
        MainTest.Run built = MainTest.run(argv(List.of("build-db", "--config", SearchCommandTest.conf("build-db-bits.yaml")
            .toString(), "--set", "output=" + db), shared));
        assertEquals(0, built.status(), built.err());

        String tensor = "model.layers.2.mlp.up_proj.weight";
        float[] original;
        try (io.evocompress.checkpoint.CheckpointReader r = io.evocompress.checkpoint.CheckpointReader.open(model.toString())) {
            original = r.readFloat(tensor);
        }
        BadFiles.setF32(weights, tensor, 2000, original[2000] + 0.25f);   // byte 8000: between the fingerprint's windows

        Path out = tmp.resolve("search-bits");
        MainTest.Run r = BadInputTest.fails(1, List.of(argv(List.of("search", "--config",
                SearchCommandTest.conf("evopress-bits-3.yaml").toString(), "--set", "output=" + out, "--set",
                "database.path=" + db, "--set", "heldout.data=" + Fixtures.text("tinystories_sample.txt"),
                "--set", "heldout.seq-len=128", "--set", "heldout.max-tokens=1024", "--set", "final.tokens=256",
                "--set", "baselines=[uniform]", "--set", "search.generations=1",
                "--set", "search.offspring=2", "--set", "search.stages=1@256", "--set", "search.initial-candidates=2",
                "--set", "search.initial-tokens=256"), shared)),
            "Tensor '" + tensor + "'", weights.toString(), db.toString(), "weights changed since the database was built",
            "Delete", "database.path");
        assertTrue(r.err().contains("database is complete and verifies: reusing it"), r.err());
        assertFalse(Files.exists(out.resolve("result.json")));
    }

    /**
     * A tensor no build task reads: stories260K's model.embed_tokens.weight (512 x 64 fp32, 131072 bytes,
     * sampled by the fingerprint as 16 windows of 4 KiB, 8465 bytes apart), one value changed at byte 6000.
     * The build recorded its full hash in the manifest (model.otherTensorSha256); a sparsity search reusing
     * the database reads it in its candidate workers and fails naming it.
     */
    @Test
    void aTensorNoBuildTaskReadsIsCheckedWhereTheSearchReadsIt() throws Exception {
        Path model = BadFiles.copyCheckpoint(Fixtures.stories260k(), tmp.resolve("model"));
        Path weights = model.resolve("model.safetensors");
        Path db = tmp.resolve("db");
        String[] shared = {"model=" + model, "calibration.data=" + Fixtures.text(TEXT), "calibration.sequences=4",
            "calibration.seq-len=64", "calibration.shards=2", "database.max-level=0"};
        MainTest.Run built = MainTest.run(argv(List.of("build-db", "--config", SearchCommandTest.conf("build-db-sparsity.yaml")
            .toString(), "--set", "output=" + db), shared));
        assertEquals(0, built.status(), built.err());
        String tensor = "model.embed_tokens.weight";
        com.fasterxml.jackson.databind.JsonNode others = new com.fasterxml.jackson.databind.ObjectMapper()
            .readTree(db.resolve("manifest.json").toFile()).get("model").get("otherTensorSha256");
        assertEquals(io.evocompress.database.VariantStore.sha256(BadFiles.tensorBytes(weights, tensor)),
            others.get(tensor).asText());
        assertEquals(12, others.size(), others.toString());   // embeddings, 2 norms per block, the final norm
        assertFalse(others.has("model.layers.0.self_attn.q_proj.weight"), "a layer's tensor is in its layer's record");

        float[] original;
        try (io.evocompress.checkpoint.CheckpointReader r = io.evocompress.checkpoint.CheckpointReader.open(model.toString())) {
            original = r.readFloat(tensor);
        }
        BadFiles.setF32(weights, tensor, 1500, original[1500] + 0.25f);   // byte 6000: between windows [0, 4096) and [8465, ...)
        Path out = tmp.resolve("search");
        List<String> search = new java.util.ArrayList<>(BadInputTest.search("evopress-sparsity-70.yaml", out,
            "baselines=[uniform]", "search.generations=1", "search.offspring=2", "search.stages=1@256",
            "search.initial-candidates=2", "search.initial-tokens=256", "final.tokens=256", "database.path=" + db));
        search.addAll(List.of(argv(List.of(), shared)));
        MainTest.Run r = BadInputTest.fails(1, search, "Tensor '" + tensor + "'", weights.toString(), db.toString(),
            "weights changed since the database was built", "Delete", "database.path");
        assertTrue(r.err().contains("database is complete and verifies: reusing it"), r.err());
        assertFalse(Files.exists(out.resolve("result.json")));
    }

    private static String[] argv(List<String> head, String... sets) {
        List<String> a = new java.util.ArrayList<>(head);
        for (String s : sets) {
            a.add("--set");
            a.add(s);
        }
        return a.toArray(new String[0]);
    }
}
