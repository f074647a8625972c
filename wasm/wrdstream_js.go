//go:build js && wasm

package wasm

// The stream of libp2p's WebRTC transports (libp2p/specs webrtc/webrtc.md,
// "Multiplexing"): one data channel per stream, each data-channel message
// a varint-prefixed protobuf Message carrying bytes and the flags FIN,
// STOP_SENDING, RESET and FIN_ACK. This file is go-libp2p's
// p2p/transport/webrtc stream.go, stream_read.go and stream_write.go
// (v0.51.0, MIT licence, Copyright (c) 2014 Juan Batiz-Benet), with its
// pion data channel replaced by dcPipe (the browser's data channel through
// wasm/internal/jsrtc) and its log lines removed; go-libp2p's package itself
// does not build for js/wasm.

import (
	"errors"
	"io"
	"os"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/p2p/transport/webrtc/pb"
	"github.com/libp2p/go-msgio/pbio"
)

const (
	// Proto overhead assumption is 5 bytes
	wrdProtoOverhead = 5
	// Varint overhead is assumed to be 2 bytes. This is safe since
	// 1. This is only used and when writing message, and
	// 2. We only send messages in chunks of `maxMessageSize - wrdVarintOverhead`
	// which includes the data and the protobuf header. Since `maxMessageSize`
	// is less than or equal to 2 ^ 14, the varint will not be more than
	// 2 bytes in length.
	wrdVarintOverhead = 2

	// wrdMaxControlSize is the maximum total size of all control messages we will
	// write on this stream.
	// 4 control messages of size 10 bytes + 10 bytes buffer. This number doesn't need to be
	// exact. In the worst case, we enqueue these many bytes more in the webrtc peer connection
	// send queue.
	wrdMaxControlSize = 50

	// wrdMaxFINACKWait is the maximum amount of time a stream will wait to read
	// FIN_ACK before closing the data channel
	wrdMaxFINACKWait = 10 * time.Second
)

type wrdReceiveState uint8

const (
	wrdReceiving    wrdReceiveState = iota
	wrdDataRead                     // received and read the FIN
	wrdReceiveReset                 // either by calling CloseRead locally, or by receiving
)

type wrdSendState uint8

const (
	wrdSending wrdSendState = iota
	wrdDataSent
	wrdDataReceived
	wrdSendReset
)

// Package pion detached data channel into a net.Conn
// and then a network.MuxedStream
type wrdStream struct {
	mx sync.Mutex

	// readerMx ensures that only a single goroutine reads from the reader. Read is not threadsafe
	// But we may need to read from reader for control messages from a different goroutine.
	readerMx  sync.Mutex
	reader    pbio.Reader
	readError error

	// this buffer is limited up to a single message. Reason we need it
	// is because a reader might read a message midway, and so we need a
	// wait to buffer that for as long as the remaining part is not (yet) read
	nextMessage  *pb.Message
	receiveState wrdReceiveState

	writer             pbio.Writer // concurrent writes prevented by mx
	writeStateChanged  chan struct{}
	sendState          wrdSendState
	writeDeadline      time.Time
	writeError         error
	maxSendMessageSize int

	controlMessageReaderOnce sync.Once
	// controlMessageReaderEndTime is the end time for reading FIN_ACK from the control
	// message reader. We cannot rely on SetReadDeadline to do this since that is prone to
	// race condition where a previous deadline timer fires after the latest call to
	// SetReadDeadline
	// See: https://github.com/pion/sctp/pull/290
	controlMessageReaderEndTime time.Time

	onDoneOnce          sync.Once
	onDone              func()
	id                  uint16 // for logging purposes
	dataChannel         *dcPipe
	closeForShutdownErr error
}

var _ network.MuxedStream = &wrdStream{}

func newWRDStream(
	pipe *dcPipe,
	id uint16,
	maxSendMessageSize int,
	onDone func(),
) *wrdStream {
	s := &wrdStream{
		reader:             pbio.NewDelimitedReader(pipe, wrdMaxReceiveSize),
		writer:             pbio.NewDelimitedWriter(pipe),
		writeStateChanged:  make(chan struct{}, 1),
		id:                 id,
		dataChannel:        pipe,
		onDone:             onDone,
		maxSendMessageSize: maxSendMessageSize,
	}
	s.dataChannel.SetBufferedAmountLowThreshold(uint64(s.sendBufferLowThreshold()))
	s.dataChannel.OnBufferedAmountLow(func() {
		s.notifyWriteStateChanged()
	})
	return s
}

func (s *wrdStream) Close() error {
	s.mx.Lock()
	isClosed := s.closeForShutdownErr != nil
	s.mx.Unlock()
	if isClosed {
		return nil
	}
	defer s.cleanup()
	closeWriteErr := s.CloseWrite()
	closeReadErr := s.CloseRead()
	if closeWriteErr != nil || closeReadErr != nil {
		s.Reset()
		return errors.Join(closeWriteErr, closeReadErr)
	}

	s.mx.Lock()
	if s.controlMessageReaderEndTime.IsZero() {
		s.controlMessageReaderEndTime = time.Now().Add(wrdMaxFINACKWait)
		s.setDataChannelReadDeadline(time.Now().Add(-1 * time.Hour))
	}
	s.mx.Unlock()
	return nil
}

func (s *wrdStream) Reset() error {
	return s.ResetWithError(0)
}

func (s *wrdStream) ResetWithError(errCode network.StreamErrorCode) error {
	s.mx.Lock()
	isClosed := s.closeForShutdownErr != nil
	s.mx.Unlock()
	if isClosed {
		return nil
	}

	defer s.cleanup()
	cancelWriteErr := s.cancelWrite(errCode)
	closeReadErr := s.closeRead(errCode, false)
	s.setDataChannelReadDeadline(time.Now().Add(-1 * time.Hour))
	return errors.Join(closeReadErr, cancelWriteErr)
}

func (s *wrdStream) closeForShutdown(closeErr error) {
	defer s.cleanup()

	s.mx.Lock()
	defer s.mx.Unlock()

	s.closeForShutdownErr = closeErr
	s.notifyWriteStateChanged()
}

func (s *wrdStream) SetDeadline(t time.Time) error {
	_ = s.SetReadDeadline(t)
	return s.SetWriteDeadline(t)
}

// processIncomingFlag processes the flag(FIN/RST/etc) on msg.
// It needs to be called while the mutex is locked.
func (s *wrdStream) processIncomingFlag(msg *pb.Message) {
	if msg.Flag == nil {
		return
	}

	switch msg.GetFlag() {
	case pb.Message_STOP_SENDING:
		// We must process STOP_SENDING after sending a FIN(wrdDataSent). Remote peer
		// may not send a FIN_ACK once it has sent a STOP_SENDING
		if s.sendState == wrdSending || s.sendState == wrdDataSent {
			s.sendState = wrdSendReset
			s.writeError = &network.StreamError{Remote: true, ErrorCode: network.StreamErrorCode(msg.GetErrorCode())}
		}
		s.notifyWriteStateChanged()
	case pb.Message_FIN_ACK:
		s.sendState = wrdDataReceived
		s.notifyWriteStateChanged()
	case pb.Message_FIN:
		if s.receiveState == wrdReceiving {
			s.receiveState = wrdDataRead
		}
		if err := s.writer.WriteMsg(&pb.Message{Flag: pb.Message_FIN_ACK.Enum()}); err != nil {
			// Remote has finished writing all the data It'll stop waiting for the
			// FIN_ACK eventually or will be notified when we close the datachannel
		}
		s.spawnControlMessageReader()
	case pb.Message_RESET:
		if s.receiveState == wrdReceiving {
			s.receiveState = wrdReceiveReset
			s.readError = &network.StreamError{Remote: true, ErrorCode: network.StreamErrorCode(msg.GetErrorCode())}
		}
		if s.sendState == wrdSending || s.sendState == wrdDataSent {
			s.sendState = wrdSendReset
			s.writeError = &network.StreamError{Remote: true, ErrorCode: network.StreamErrorCode(msg.GetErrorCode())}
		}
		s.spawnControlMessageReader()
	}
}

// spawnControlMessageReader is used for processing control messages after the reader is closed.
func (s *wrdStream) spawnControlMessageReader() {
	s.controlMessageReaderOnce.Do(func() {
		// Spawn a goroutine to ensure that we're not holding any locks
		go func() {
			// cleanup the sctp deadline timer goroutine
			defer s.setDataChannelReadDeadline(time.Time{})

			defer s.dataChannel.Close()

			// Unblock any Read call waiting on reader.ReadMsg
			s.setDataChannelReadDeadline(time.Now().Add(-1 * time.Hour))

			s.readerMx.Lock()
			// We have the lock: any readers blocked on reader.ReadMsg have exited.
			s.mx.Lock()
			defer s.mx.Unlock()
			// From this point onwards only this goroutine will do reader.ReadMsg.
			// We just wanted to ensure any exising readers have exited.
			// Read calls from this point onwards will exit immediately on checking
			// s.readState
			s.readerMx.Unlock()

			if s.nextMessage != nil {
				s.processIncomingFlag(s.nextMessage)
				s.nextMessage = nil
			}
			var msg pb.Message
			for {
				// Connection closed. No need to cleanup the data channel.
				if s.closeForShutdownErr != nil {
					return
				}
				// Write half of the stream completed.
				if s.sendState == wrdDataReceived || s.sendState == wrdSendReset {
					return
				}
				// FIN_ACK wait deadling exceeded.
				if !s.controlMessageReaderEndTime.IsZero() && time.Now().After(s.controlMessageReaderEndTime) {
					return
				}

				s.setDataChannelReadDeadline(s.controlMessageReaderEndTime)
				s.mx.Unlock()
				err := s.reader.ReadMsg(&msg)
				s.mx.Lock()
				if err != nil {
					// We have to manually manage deadline exceeded errors since pion/sctp can
					// return deadline exceeded error for cancelled deadlines
					// see: https://github.com/pion/sctp/pull/290/files
					if errors.Is(err, os.ErrDeadlineExceeded) {
						continue
					}
					return
				}
				s.processIncomingFlag(&msg)
			}
		}()
	})
}

func (s *wrdStream) cleanup() {
	s.onDoneOnce.Do(func() {
		if s.onDone != nil {
			s.onDone()
		}
	})
}

func (s *wrdStream) Read(b []byte) (int, error) {
	s.readerMx.Lock()
	defer s.readerMx.Unlock()

	s.mx.Lock()
	defer s.mx.Unlock()

	if s.closeForShutdownErr != nil {
		return 0, s.closeForShutdownErr
	}
	switch s.receiveState {
	case wrdDataRead:
		return 0, io.EOF
	case wrdReceiveReset:
		return 0, s.readError
	}

	if len(b) == 0 {
		return 0, nil
	}

	var read int
	for {
		if s.nextMessage == nil {
			// load the next message
			s.mx.Unlock()
			var msg pb.Message
			err := s.reader.ReadMsg(&msg)
			s.mx.Lock()
			if err != nil {
				// connection was closed
				if s.closeForShutdownErr != nil {
					return 0, s.closeForShutdownErr
				}
				if err == io.EOF {
					// if the channel was properly closed, return EOF
					if s.receiveState == wrdDataRead {
						return 0, io.EOF
					}
					// This case occurs when remote closes the datachannel without writing a FIN
					// message. Some implementations discard the buffered data on closing the
					// datachannel. For these implementations a stream reset will be observed as an
					// abrupt closing of the datachannel.
					s.receiveState = wrdReceiveReset
					s.readError = &network.StreamError{Remote: true}
					return 0, s.readError
				}
				if s.receiveState == wrdReceiveReset {
					return 0, s.readError
				}
				if s.receiveState == wrdDataRead {
					return 0, io.EOF
				}
				return 0, err
			}
			s.nextMessage = &msg
		}

		if len(s.nextMessage.Message) > 0 {
			n := copy(b, s.nextMessage.Message)
			read += n
			s.nextMessage.Message = s.nextMessage.Message[n:]
			return read, nil
		}

		// process flags on the message after reading all the data
		s.processIncomingFlag(s.nextMessage)
		s.nextMessage = nil
		if s.closeForShutdownErr != nil {
			return read, s.closeForShutdownErr
		}
		switch s.receiveState {
		case wrdDataRead:
			return read, io.EOF
		case wrdReceiveReset:
			return read, s.readError
		}
	}
}

func (s *wrdStream) SetReadDeadline(t time.Time) error {
	s.mx.Lock()
	defer s.mx.Unlock()
	if s.receiveState == wrdReceiving {
		s.setDataChannelReadDeadline(t)
	}
	return nil
}

func (s *wrdStream) setDataChannelReadDeadline(t time.Time) error {
	return s.dataChannel.SetReadDeadline(t)
}

func (s *wrdStream) CloseRead() error {
	return s.closeRead(0, false)
}

func (s *wrdStream) closeRead(errCode network.StreamErrorCode, remote bool) error {
	s.mx.Lock()
	defer s.mx.Unlock()
	var err error
	if s.receiveState == wrdReceiving && s.closeForShutdownErr == nil {
		code := uint32(errCode)
		err = s.writer.WriteMsg(&pb.Message{Flag: pb.Message_STOP_SENDING.Enum(), ErrorCode: &code})
		s.receiveState = wrdReceiveReset
		s.readError = &network.StreamError{Remote: remote, ErrorCode: errCode}
	}
	s.spawnControlMessageReader()
	return err
}

var errWRDWriteAfterClose = errors.New("write after close")

// If we have less space than wrdMinMessageSize, we don't put a new message on the data channel.
// Instead, we wait until more space opens up.
const wrdMinMessageSize = 1 << 10

func (s *wrdStream) Write(b []byte) (int, error) {
	s.mx.Lock()
	defer s.mx.Unlock()

	if s.closeForShutdownErr != nil {
		return 0, s.closeForShutdownErr
	}
	switch s.sendState {
	case wrdSendReset:
		return 0, s.writeError
	case wrdDataSent, wrdDataReceived:
		return 0, errWRDWriteAfterClose
	}

	if !s.writeDeadline.IsZero() && time.Now().After(s.writeDeadline) {
		return 0, os.ErrDeadlineExceeded
	}

	var writeDeadlineTimer *time.Timer
	defer func() {
		if writeDeadlineTimer != nil {
			writeDeadlineTimer.Stop()
		}
	}()

	var n int
	var msg pb.Message
	for len(b) > 0 {
		if s.closeForShutdownErr != nil {
			return n, s.closeForShutdownErr
		}
		switch s.sendState {
		case wrdSendReset:
			return n, s.writeError
		case wrdDataSent, wrdDataReceived:
			return n, errWRDWriteAfterClose
		}

		writeDeadline := s.writeDeadline
		// deadline deleted, stop and remove the timer
		if writeDeadline.IsZero() && writeDeadlineTimer != nil {
			writeDeadlineTimer.Stop()
			writeDeadlineTimer = nil
		}
		var writeDeadlineChan <-chan time.Time
		if !writeDeadline.IsZero() {
			if writeDeadlineTimer == nil {
				writeDeadlineTimer = time.NewTimer(time.Until(writeDeadline))
			} else {
				if !writeDeadlineTimer.Stop() {
					<-writeDeadlineTimer.C
				}
				writeDeadlineTimer.Reset(time.Until(writeDeadline))
			}
			writeDeadlineChan = writeDeadlineTimer.C
		}

		availableSpace := s.availableSendSpace()
		if availableSpace < wrdMinMessageSize {
			s.mx.Unlock()
			select {
			case <-writeDeadlineChan:
				s.mx.Lock()
				return n, os.ErrDeadlineExceeded
			case <-s.writeStateChanged:
			}
			s.mx.Lock()
			continue
		}
		end := min(s.maxSendMessageSize, availableSpace)
		end -= wrdProtoOverhead + wrdVarintOverhead
		if end > len(b) {
			end = len(b)
		}
		msg = pb.Message{Message: b[:end]}
		if err := s.writer.WriteMsg(&msg); err != nil {
			return n, err
		}
		n += end
		b = b[end:]
	}
	return n, nil
}

func (s *wrdStream) SetWriteDeadline(t time.Time) error {
	s.mx.Lock()
	defer s.mx.Unlock()
	s.writeDeadline = t
	s.notifyWriteStateChanged()
	return nil
}

// sendBufferSize() is the maximum data we enqueue on the underlying data channel for writes.
// The underlying SCTP layer has an unbounded buffer for writes. We limit the amount enqueued
// per stream is limited to avoid a single stream monopolizing the entire connection.
func (s *wrdStream) sendBufferSize() int {
	return 2 * s.maxSendMessageSize
}

// sendBufferLowThreshold() is the threshold below which we write more data on the underlying
// data channel. We want a notification as soon as we can write 1 full sized message.
func (s *wrdStream) sendBufferLowThreshold() int {
	return s.sendBufferSize() - s.maxSendMessageSize
}

func (s *wrdStream) availableSendSpace() int {
	buffered := int(s.dataChannel.BufferedAmount())
	availableSpace := s.sendBufferSize() - buffered
	if availableSpace+wrdMaxControlSize < 0 { // this should never happen, but better check
		_ = buffered // go-libp2p logs this impossible case
	}
	return availableSpace
}

func (s *wrdStream) cancelWrite(errCode network.StreamErrorCode) error {
	s.mx.Lock()
	defer s.mx.Unlock()

	// There's no need to reset the write half if the write half has been closed
	// successfully or has been reset previously
	if s.sendState == wrdDataReceived || s.sendState == wrdSendReset {
		return nil
	}
	s.sendState = wrdSendReset
	s.writeError = &network.StreamError{Remote: false, ErrorCode: errCode}
	// Remove reference to this stream from data channel
	s.dataChannel.OnBufferedAmountLow(nil)
	s.notifyWriteStateChanged()
	code := uint32(errCode)
	return s.writer.WriteMsg(&pb.Message{Flag: pb.Message_RESET.Enum(), ErrorCode: &code})
}

func (s *wrdStream) CloseWrite() error {
	s.mx.Lock()
	defer s.mx.Unlock()

	if s.sendState != wrdSending {
		return nil
	}
	s.sendState = wrdDataSent
	// Remove reference to this stream from data channel
	s.dataChannel.OnBufferedAmountLow(nil)
	s.notifyWriteStateChanged()
	return s.writer.WriteMsg(&pb.Message{Flag: pb.Message_FIN.Enum()})
}

func (s *wrdStream) notifyWriteStateChanged() {
	select {
	case s.writeStateChanged <- struct{}{}:
	default:
	}
}
