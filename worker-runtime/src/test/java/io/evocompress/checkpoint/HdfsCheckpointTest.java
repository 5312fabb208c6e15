package io.evocompress.checkpoint;

import io.evocompress.Fixtures;
import io.evocompress.ModelFixtures;
import io.evocompress.fs.HadoopFiles;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.File;
import java.io.IOException;
import java.util.Arrays;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Checkpoints on a real (in-process) HDFS: reading one copied from the local fixture gives the same
 * logits as reading the local file, and a checkpoint written into HDFS reads back the same.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HdfsCheckpointTest {
    private MiniDFSCluster cluster;
    private Configuration conf;
    private FileSystem hdfs;
    private java.nio.file.Path model;
    private int[] ids;
    private float[] localLogits;

    @BeforeAll
    void startCluster() throws IOException {
        model = Fixtures.stories260k(); // skips the class when the fixtures are absent
        File base = new File("target/minidfs-" + UUID.randomUUID()).getAbsoluteFile();
        conf = new Configuration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, base.getPath());
        // No web UIs: they are not needed and only slow the start.
        conf.setBoolean("dfs.webhdfs.enabled", false);
        conf.set("dfs.namenode.http-address", "127.0.0.1:0");
        conf.set("dfs.datanode.http.address", "127.0.0.1:0");
        cluster = new MiniDFSCluster.Builder(conf, base).numDataNodes(1).format(true).build();
        cluster.waitActive();
        hdfs = cluster.getFileSystem();

        ids = ModelFixtures.referenceIds();
        try (CheckpointReader local = CheckpointReader.open(model.toString())) {
            localLogits = ModelFixtures.logits(local, ids);
        }
    }

    @AfterAll
    void stopCluster() throws IOException {
        if (hdfs != null) {
            hdfs.close();
        }
        if (cluster != null) {
            cluster.shutdown(true);
        }
    }

    private Path hdfsPath(String name) {
        return new Path(hdfs.getUri().toString() + "/" + name);
    }

    @Test
    void checkpointCopiedToHdfsGivesTheSameLogitsAsTheLocalFile() throws IOException {
        Path dir = hdfsPath("models/stories260K");
        hdfs.mkdirs(dir.getParent());
        hdfs.copyFromLocalFile(false, true, new Path(model.toUri()), dir);
        assertEquals(java.nio.file.Files.size(model.resolve("model.safetensors")),
            hdfs.getFileStatus(new Path(dir, "model.safetensors")).getLen());
        assertTrue(dir.toString().startsWith("hdfs://"), dir.toString());

        try (CheckpointReader onHdfs = CheckpointReader.open(dir, conf)) {
            assertEquals("hdfs", onHdfs.fileSystem().getScheme());
            assertFalse(onHdfs.isSharded());
            float[] hdfsLogits = ModelFixtures.logits(onHdfs, ids);
            assertEquals(ids.length * 512, hdfsLogits.length);
            assertArrayEquals(localLogits, hdfsLogits, "logits from hdfs: differ from those from file:");
        }
    }

    @Test
    void checkpointWrittenIntoHdfsReadsBack() throws IOException {
        Path out = hdfsPath("written/stories260K-sharded");
        try (CheckpointReader local = CheckpointReader.open(model.toString())) {
            new CheckpointWriter(DType.F32, 2, false).write(hdfs, out, local.configJson(), ModelFixtures.tensors(local),
                HadoopFiles.fileSystem(local.dir(), conf), local.dir());
        }
        FileStatus[] listing = hdfs.listStatus(out);
        String names = Arrays.toString(Arrays.stream(listing).map(s -> s.getPath().getName()).sorted().toArray());
        assertEquals("[config.json, model-00001-of-00002.safetensors, model-00002-of-00002.safetensors, "
            + "model.safetensors.index.json, tokenizer.json, tokenizer.model, tokenizer_config.json]", names);
        FileStatus[] siblings = hdfs.listStatus(out.getParent());
        assertEquals(1, siblings.length, "temporary directories left beside the output: " + Arrays.toString(siblings));

        try (CheckpointReader back = CheckpointReader.open(out, conf)) {
            assertTrue(back.isSharded());
            assertEquals(47, back.tensorFiles().size());
            float[] logits = ModelFixtures.logits(back, ids);
            assertArrayEquals(localLogits, logits, "logits of the checkpoint written into hdfs");
        }
    }
}
