import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { decodeEvent, type DecodedEvent, type WireRequest } from './proto';

/** A call as a grpc-js channel makes it, below the client's stream layer. */
type ChannelCall = ReturnType<grpc.Channel['createCall']>;

/**
 * How many decoded messages are read ahead while the owner is paused: the read-ahead of grpc-js's own client stream
 * (a Node object-mode stream's 16), so that what a paused call has read when its final status comes is the same.
 */
const READ_AHEAD = 16;

/** The events of a {@link SubscribeCall}, as grpc-js's client stream names them. */
interface SubscribeCallEvents {
  /** The response headers. */
  metadata: [grpc.Metadata];
  /** One decoded message, in order. */
  data: [DecodedEvent];
  /** Every message the call read was handed out (after the final status, and only while not paused). */
  end: [];
  /** The final status, once; messages read before it may still follow (a paused call hands them out on resume). */
  status: [grpc.StatusObject];
}

/**
 * One `subscribe` call on a grpc-js channel, without grpc-js's Node-stream layer (a Duplex stream, an object-mode
 * buffer and interceptor wrappers per message; ~17 % of a watch's CPU went to Node streams): messages are pulled with
 * `startRead()`, one at a time, so HTTP/2 flow control is the backpressure, as in grpc-js's client stream. It behaves
 * as that stream does for what WatchStream reads: the same events, a read-ahead of {@link READ_AHEAD} messages while
 * paused, `resume()` handing out the rest on a later tick, 'end' once the read side is over and nothing is left to
 * hand out, a message that cannot be decoded ending the call with INTERNAL ("Response message parsing error"), the
 * final status reported once.
 */
export class SubscribeCall extends EventEmitter<SubscribeCallEvents> {
  /** Messages read and decoded, not handed out yet (the owner paused). */
  private readonly buffered: DecodedEvent[] = [];
  private paused = false;
  /** A `startRead()` is outstanding: its message is still to come. */
  private reading = false;
  /** The final status came: no message follows. */
  private statusCame = false;
  private endTold = false;
  /** A failed decode: the status the call reports, whatever grpc-js says after the cancel. */
  private readError: grpc.StatusObject | undefined;
  /** Requests waiting for the one before to be written (grpc-js's call holds one at a time). */
  private readonly writes: Buffer[] = [];
  private writing = false;
  private handOutScheduled = false;

  constructor(
    private readonly call: ChannelCall,
    private readonly serialize: (request: WireRequest) => Buffer,
    metadata: grpc.Metadata,
  ) {
    super();
    call.start(metadata, {
      onReceiveMetadata: (headers) => this.emit('metadata', headers),
      onReceiveMessage: (bytes: Buffer) => this.received(bytes),
      onReceiveStatus: (status) => this.statusReceived(status),
    });
    this.read();
  }

  /** Sends one request once those before it are written. */
  write(request: WireRequest): void {
    if (this.statusCame) return;
    let bytes: Buffer;
    try {
      bytes = this.serialize(request);
    } catch (err) {
      // As grpc-js's client stream does with a request its serializer refuses.
      this.call.cancelWithStatus(grpc.status.INTERNAL, `Request message serialization failure: ${message(err)}`);
      return;
    }
    this.writes.push(bytes);
    this.writeNext();
  }

  /** Stops handing out messages; reading goes on up to the read-ahead, then HTTP/2 flow control holds the service. */
  pause(): void {
    this.paused = true;
  }

  /** Hands out what was read ahead, on a later tick (as a Node stream's resume), then reads on. */
  resume(): void {
    this.paused = false;
    this.scheduleHandOut();
  }

  /** Cancels the call (never a half-close); the final status follows as CANCELLED. */
  cancel(): void {
    this.call.cancelWithStatus(grpc.status.CANCELLED, 'Cancelled on client');
  }

  private writeNext(): void {
    const bytes = this.writes.shift();
    if (this.writing || bytes === undefined) {
      if (bytes !== undefined) this.writes.unshift(bytes);
      return;
    }
    this.writing = true;
    this.call.sendMessageWithContext(
      {
        callback: () => {
          this.writing = false;
          this.writeNext();
        },
      },
      bytes,
    );
  }

  private read(): void {
    if (this.reading || this.statusCame || this.buffered.length >= READ_AHEAD) return;
    this.reading = true;
    this.call.startRead();
  }

  private received(bytes: Buffer): void {
    this.reading = false;
    let decoded: DecodedEvent;
    try {
      decoded = decodeEvent(bytes);
    } catch (err) {
      // As grpc-js's client does with a message its deserializer refuses.
      const details = `Response message parsing error: ${message(err)}`;
      this.readError = { code: grpc.status.INTERNAL, details, metadata: new grpc.Metadata() };
      this.call.cancelWithStatus(grpc.status.INTERNAL, details);
      return;
    }
    if (this.paused || this.buffered.length > 0) this.buffered.push(decoded);
    else this.emit('data', decoded);
    this.read();
  }

  private statusReceived(status: grpc.StatusObject): void {
    if (this.statusCame) return;
    this.statusCame = true;
    this.emit('status', this.readError ?? status);
    this.scheduleHandOut();
  }

  private scheduleHandOut(): void {
    if (this.handOutScheduled) return;
    this.handOutScheduled = true;
    process.nextTick(() => {
      this.handOutScheduled = false;
      this.handOut();
    });
  }

  /** Hands out what was read ahead while not paused; 'end' once the status came and nothing is left. */
  private handOut(): void {
    while (!this.paused) {
      const next = this.buffered.shift();
      if (next === undefined) break;
      this.emit('data', next);
    }
    if (this.paused) return;
    if (!this.statusCame) this.read();
    else if (!this.endTold) {
      this.endTold = true;
      this.emit('end');
    }
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
