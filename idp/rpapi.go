package idp

import (
	"errors"
	"net/http"

	"github.com/sithseid/sithseid/oob"
)

// The relying-party API (docs/protocol.md, "Relying-party API"), BankID RP
// API v6 in shape.

func (s *Server) handleAuth(w http.ResponseWriter, r *http.Request, rp *relyingParty) {
	var req oob.AuthRequest
	if !decodeOrReject(w, r, &req) {
		return
	}
	o, err := s.orders.createOrder(rp, req)
	if err != nil {
		var full storeFullError
		if errors.As(err, &full) {
			w.Header().Set("Retry-After", "10")
			writeError(w, http.StatusServiceUnavailable, oob.ErrorCodeMaintenance, "too many orders in progress")
			return
		}
		writeError(w, http.StatusInternalServerError, oob.ErrorCodeInternalError, "starting order failed")
		return
	}
	s.log.Info("order started", "rp", rp.name, "orderRef", o.ref, "endUserIp", req.EndUserIP, "requireEndUserIpMatch", req.RequireEndUserIPMatch)
	writeJSON(w, http.StatusOK, &oob.AuthResponse{
		OrderRef:       o.ref,
		AutoStartToken: o.autoStartToken,
		QRStartToken:   o.qrStartToken,
		QRStartSecret:  o.qrStartSecret,
	})
}

func (s *Server) handleCollect(w http.ResponseWriter, r *http.Request, rp *relyingParty) {
	var req oob.CollectRequest
	if !decodeOrReject(w, r, &req) {
		return
	}
	v, ok := s.orders.collect(rp, req.OrderRef)
	if !ok {
		writeError(w, http.StatusNotFound, oob.ErrorCodeNotFound, "no such order")
		return
	}
	writeJSON(w, http.StatusOK, collectReply(v))
}

func collectReply(v orderView) *oob.CollectResponse {
	resp := &oob.CollectResponse{OrderRef: v.ref, Status: v.status}
	if v.status == oob.StatusComplete {
		resp.CompletionData = v.completion
	} else {
		resp.HintCode = v.hint
	}
	return resp
}

func (s *Server) handleCancel(w http.ResponseWriter, r *http.Request, rp *relyingParty) {
	var req oob.CancelRequest
	if !decodeOrReject(w, r, &req) {
		return
	}
	if e := s.orders.cancel(rp, req.OrderRef); e != lookupOK {
		refuse(w, e, false)
		return
	}
	s.log.Info("order cancelled by relying party", "rp", rp.name, "orderRef", req.OrderRef)
	writeJSON(w, http.StatusOK, &oob.EmptyResponse{})
}
