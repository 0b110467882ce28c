/**
 * The WebGL2 backend: the fragment-shader approach (one pixel = one nonce). Each draw covers a
 * SIZE x SIZE square of consecutive nonces; a pixel whose nonce reaches the threshold is painted
 * white, and a readback of the square finds it. Runs on an OffscreenCanvas, so it works inside the
 * session's Web Worker, away from the page's (throttled) main thread.
 */
import { workValue } from "../../../nano/work.js";
import type { GenerateOptions, WorkBackend, WorkResult } from "../../../pow/backend.js";
import { rootWords, u64Pair, workHashSource } from "../../../pow/gpu/work-hash-shader.js";
import { abortError, randomU64, yieldToMessages } from "./kernel-helpers.js";

/** 512 x 512 = 2^18 nonces a draw: long enough to hide the readback, short enough for a quick cancel. */
const SIZE = 512;
const U64_MASK = 0xffffffffffffffffn;

const VERTEX = `#version 300 es
in vec2 position;
void main() { gl_Position = vec4(position, 0.0, 1.0); }`;

const FRAGMENT = `#version 300 es
precision highp float;
precision highp int;
uniform uvec2 root[4];
uniform uvec2 base;
uniform uvec2 threshold;
out vec4 color;
${workHashSource("glsl")}
void main() {
  uint index = uint(gl_FragCoord.y) * ${SIZE}u + uint(gl_FragCoord.x);
  uint lo = base.x + index;
  uvec2 nonce = uvec2(lo, base.y + uint(lo < base.x));
  bool found = reaches(workValue(nonce, root[0], root[1], root[2], root[3]), threshold);
  color = found ? vec4(1.0) : vec4(0.0);
}`;

export class WebGl2Backend implements WorkBackend {
  readonly name = "webgl2";
  private readonly pixels = new Uint8Array(SIZE * SIZE * 4);
  private closed = false;

  private constructor(
    private readonly gl: WebGL2RenderingContext,
    private readonly uniforms: {
      root: WebGLUniformLocation;
      base: WebGLUniformLocation;
      threshold: WebGLUniformLocation;
    },
  ) {}

  /** The backend, or the reason this browser cannot run it. */
  static create(): WebGl2Backend | { unavailable: string } {
    if (typeof OffscreenCanvas === "undefined") return { unavailable: "no OffscreenCanvas" };
    const gl = new OffscreenCanvas(SIZE, SIZE).getContext("webgl2", {
      antialias: false,
      depth: false,
      preserveDrawingBuffer: true,
    });
    if (!gl) return { unavailable: "WebGL2 is not available" };
    const program = link(gl);
    if (typeof program === "string") return { unavailable: program };
    gl.useProgram(program);
    const buffer = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 1, -1, -1, 1, 1, 1]), gl.STATIC_DRAW);
    const position = gl.getAttribLocation(program, "position");
    gl.enableVertexAttribArray(position);
    gl.vertexAttribPointer(position, 2, gl.FLOAT, false, 0, 0);
    gl.viewport(0, 0, SIZE, SIZE);
    const at = (name: string) => gl.getUniformLocation(program, name) as WebGLUniformLocation;
    return new WebGl2Backend(gl, { root: at("root"), base: at("base"), threshold: at("threshold") });
  }

  async generate(root: Uint8Array, threshold: bigint, options: GenerateOptions = {}): Promise<WorkResult> {
    const { gl, uniforms } = this;
    gl.uniform2uiv(uniforms.root, rootWords(root));
    gl.uniform2ui(uniforms.threshold, ...u64Pair(threshold));
    let base = randomU64();
    for (;;) {
      if (options.signal?.aborted) throw abortError();
      if (this.closed) throw new Error("the worker is stopping");
      gl.uniform2ui(uniforms.base, ...u64Pair(base));
      gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
      gl.readPixels(0, 0, SIZE, SIZE, gl.RGBA, gl.UNSIGNED_BYTE, this.pixels);
      const found = this.firstFound(root, base, threshold);
      if (found !== undefined) return found;
      base = (base + BigInt(SIZE * SIZE)) & U64_MASK;
      await yieldToMessages();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.gl.getExtension("WEBGL_lose_context")?.loseContext();
  }

  /**
   * The first painted pixel's work, checked on the CPU. Integer math on a GPU is exact, so a painted
   * nonce that does not reach the threshold means a broken driver or shader: the job fails (and is
   * retried) rather than the CPU checking pixel after pixel, which would hide the fault.
   */
  private firstFound(root: Uint8Array, base: bigint, threshold: bigint): WorkResult | undefined {
    for (let i = 0; i < SIZE * SIZE; i++) {
      if (this.pixels[i * 4] === 0) continue;
      const work = (base + BigInt(i)) & U64_MASK;
      const value = workValue(root, work);
      if (value < threshold)
        throw new Error(`the WebGL2 kernel claimed work ${work.toString(16)} that is too low`);
      return { work, value };
    }
    return undefined;
  }
}

function link(gl: WebGL2RenderingContext): WebGLProgram | string {
  const program = gl.createProgram();
  for (const [type, source] of [
    [gl.VERTEX_SHADER, VERTEX],
    [gl.FRAGMENT_SHADER, FRAGMENT],
  ] as const) {
    const shader = gl.createShader(type) as WebGLShader;
    gl.shaderSource(shader, source);
    gl.compileShader(shader);
    if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) {
      return `the WebGL2 shader does not compile: ${gl.getShaderInfoLog(shader)}`;
    }
    gl.attachShader(program, shader);
  }
  gl.linkProgram(program);
  if (!gl.getProgramParameter(program, gl.LINK_STATUS)) {
    return `the WebGL2 program does not link: ${gl.getProgramInfoLog(program)}`;
  }
  return program;
}
