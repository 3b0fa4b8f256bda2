package dev.loracle.runtime.tensor;

import dev.loracle.runtime.model.*;
import java.lang.foreign.Arena;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class KqRealDiagTest {
    @ParameterizedTest
    @ValueSource(strings = {"kq-Q4_K_M", "kq-Q5_K_M"})
    void diag(String m) {
        try (Arena arena = Arena.ofShared()) {
            LlamaWeights w = GgufLlamaModel.weights(GgufFile.parse(MappedFile.map(ArchGolden.model(m), arena)));
            System.out.println("DIAG2 " + m + " emb " + w.tokenEmbedding() + " cls " + w.classifier());
            for (var l : w.layers()) for (QuantizedTensor t : new QuantizedTensor[] {l.wq(), l.wk(), l.wv(), l.wo(), l.gate(), l.up(), l.down()}) {
                int cols = (int) t.cols(), rows = (int) t.rows();
                float[] x = KQuantDotTest.gaussian(cols, 5);
                Q8KActivation xq = new Q8KActivation(cols).quantize(x, cols);
                float[] y = new float[rows];
                KQuantDot.rows(t, 0, rows, xq, 1, y, rows, 0);
                float[] wr = new float[cols];
                double worst = 0;
                for (int r = 0; r < rows; r++) {
                    t.dequantizeRow(r, wr, 0);
                    double ref = 0, mag = 0;
                    for (int i = 0; i < cols; i++) { double xi = (double) xq.d[i / 256] * xq.q[i]; ref += wr[i] * xi; mag += Math.abs(wr[i] * xi); }
                    worst = Math.max(worst, Math.abs(ref - y[r]) / mag);
                }
                System.out.println("DIAG2 " + t + " worst rel " + worst);
            }
        }
    }
}
