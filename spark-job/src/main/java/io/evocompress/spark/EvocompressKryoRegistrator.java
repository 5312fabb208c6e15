package io.evocompress.spark;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import io.evocompress.builddb.InputGroupTask;
import io.evocompress.builddb.LayerTask;
import io.evocompress.candidates.CandidateResult;
import io.evocompress.candidates.CandidateTask;
import io.evocompress.metrics.SequenceScores;
import io.evocompress.schedule.ScheduledLayer;
import org.apache.spark.serializer.KryoRegistrator;

/**
 * Every type shipped between driver and executors, registered so that
 * {@code spark.kryo.registrationRequired=true} holds. Records get explicit serializers (Kryo 4 cannot
 * set a record's final fields by reflection).
 */
public final class EvocompressKryoRegistrator implements KryoRegistrator {

    @Override
    public void registerClasses(Kryo kryo) {
        kryo.register(int[].class);
        kryo.register(int[][].class);
        kryo.register(long[].class);
        kryo.register(float[].class);
        kryo.register(double[].class);
        kryo.register(Object[].class);
        kryo.register(SequenceScores.class, new SequenceScoresSerializer());
        kryo.register(ShardRange.class, new ShardRangeSerializer());
        kryo.register(String[].class);
        kryo.register(Integer[].class);
        kryo.register(LayerTask.class, new LayerTaskSerializer());
        kryo.register(InputGroupTask.class, new InputGroupTaskSerializer());
        kryo.register(ScheduledLayer.class, new ScheduledLayerSerializer());
        kryo.register(CandidateTask.class, new CandidateTaskSerializer());
        kryo.register(CandidateResult.class, new CandidateResultSerializer());
    }

    static final class CandidateTaskSerializer extends Serializer<CandidateTask> {
        @Override
        public void write(Kryo kryo, Output out, CandidateTask t) {
            out.writeInt(t.index());
            int[] levels = t.levels();
            out.writeInt(levels.length, true);
            out.writeInts(levels);
        }

        @Override
        public CandidateTask read(Kryo kryo, Input in, Class<CandidateTask> type) {
            int index = in.readInt();
            int n = in.readInt(true);
            return new CandidateTask(index, in.readInts(n));
        }
    }

    static final class CandidateResultSerializer extends Serializer<CandidateResult> {
        @Override
        public void write(Kryo kryo, Output out, CandidateResult r) {
            out.writeInt(r.index());
            out.writeDouble(r.fitness());
            out.writeLong(r.positions());
            out.writeLong(r.stitchNanos());
            out.writeLong(r.forwardNanos());
            out.writeLong(r.metricNanos());
            out.writeLong(r.taskNanos());
            out.writeDouble(r.blockTokens());
            out.writeDouble(r.naiveBlockTokens());
            out.writeBoolean(r.together());
        }

        @Override
        public CandidateResult read(Kryo kryo, Input in, Class<CandidateResult> type) {
            return new CandidateResult(in.readInt(), in.readDouble(), in.readLong(), in.readLong(), in.readLong(),
                in.readLong(), in.readLong(), in.readDouble(), in.readDouble(), in.readBoolean());
        }
    }

    static final class SequenceScoresSerializer extends Serializer<SequenceScores> {
        @Override
        public void write(Kryo kryo, Output out, SequenceScores s) {
            out.writeDouble(s.nllSum());
            out.writeLong(s.nllTokens());
            out.writeDouble(s.klSum());
            out.writeLong(s.klTokens());
        }

        @Override
        public SequenceScores read(Kryo kryo, Input in, Class<SequenceScores> type) {
            return new SequenceScores(in.readDouble(), in.readLong(), in.readDouble(), in.readLong());
        }
    }

    static final class ShardRangeSerializer extends Serializer<ShardRange> {
        @Override
        public void write(Kryo kryo, Output out, ShardRange r) {
            out.writeInt(r.shard());
            out.writeInt(r.shards());
        }

        @Override
        public ShardRange read(Kryo kryo, Input in, Class<ShardRange> type) {
            return new ShardRange(in.readInt(), in.readInt());
        }
    }

    static final class LayerTaskSerializer extends Serializer<LayerTask> {
        @Override
        public void write(Kryo kryo, Output out, LayerTask t) {
            out.writeString(t.unit());
            out.writeInt(t.block());
            out.writeString(t.linear().name());
        }

        @Override
        public LayerTask read(Kryo kryo, Input in, Class<LayerTask> type) {
            return new LayerTask(in.readString(), in.readInt(), io.evocompress.model.LinearName.valueOf(in.readString()));
        }
    }

    static final class ScheduledLayerSerializer extends Serializer<ScheduledLayer> {
        private final LayerTaskSerializer task = new LayerTaskSerializer();

        @Override
        public void write(Kryo kryo, Output out, ScheduledLayer l) {
            task.write(kryo, out, l.task());
            out.writeInt(l.levels().length, true);
            out.writeInts(l.levels());
            out.writeLongs(l.zeros());
        }

        @Override
        public ScheduledLayer read(Kryo kryo, Input in, Class<ScheduledLayer> type) {
            LayerTask t = task.read(kryo, in, LayerTask.class);
            int n = in.readInt(true);
            return new ScheduledLayer(t, in.readInts(n), in.readLongs(n));
        }
    }

    static final class InputGroupTaskSerializer extends Serializer<InputGroupTask> {
        private final LayerTaskSerializer task = new LayerTaskSerializer();

        @Override
        public void write(Kryo kryo, Output out, InputGroupTask g) {
            out.writeInt(g.block());
            out.writeString(g.group().name());
            out.writeInt(g.layers().size(), true);
            for (LayerTask t : g.layers()) {
                task.write(kryo, out, t);
            }
        }

        @Override
        public InputGroupTask read(Kryo kryo, Input in, Class<InputGroupTask> type) {
            int block = in.readInt();
            io.evocompress.calibration.InputGroup group = io.evocompress.calibration.InputGroup.valueOf(in.readString());
            int n = in.readInt(true);
            java.util.List<LayerTask> layers = new java.util.ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                layers.add(task.read(kryo, in, LayerTask.class));
            }
            return new InputGroupTask(block, group, layers);
        }
    }
}
