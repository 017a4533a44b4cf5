#!/usr/bin/env node
// ussdc: an independent USSD centre for testing the Care360 gateway.
//
// It is an SMPP 3.4 server (the SMSC / USSD-centre role) built on node-smpp,
// which shares no code with the gateway or with our Go simulator. It waits
// for the gateway's bind_transceiver, plays a scripted set of USSD dialogues
// (deliver_sm with ussd_service_op, its_session_info, user_message_reference),
// checks every PDU the gateway sends against PRODUCT.md §3.1, and prints one
// JSON line per event on stdout:
//
//	{"event":"listening","host":"127.0.0.1","port":40123}
//	{"event":"bound","system_id":"care360","interface_version":52,"seq":1}
//	{"event":"screen","step":0,"dialogue":"points","msisdn":"84903123456","op":2,
//	 "session_info":"0700","umr":null,"data_coding":0,"text":"MobiFone Care360\n...","seq":2,"ms":12}
//	{"event":"silence","step":3,"dialogue":"abort","op":32,"session_info":"0302","status":0,"silence_ms":800}
//	{"event":"steps_done","screens":9}
//	{"event":"done","enquire_links":12,...}
//
// It exits 0 when the scenario is done and 1, with {"event":"fail","error":...}
// on stdout and the reason on stderr, at the first protocol surprise. Usage:
//
//	node ussdc.js --scenario FILE|- [--host H] [--port N] [--wait-stdin] [--trace]
//	node ussdc.js --msisdn 84903123456 [--session N | --umr N] --dial '*090#' [--answer 1 | --abort]...
//
// See README.md beside this file for the scenario format.
'use strict';

const fs = require('fs');
const readline = require('readline');
const smpp = require('smpp');

// ---------------------------------------------------------------- output

function emit(obj) {
	process.stdout.write(JSON.stringify(obj) + '\n');
}

let finished = false;

function fail(msg) {
	if (finished) {
		return;
	}
	finished = true;
	emit({ event: 'fail', error: msg });
	process.stderr.write('ussdc: protocol surprise: ' + msg + '\n');
	process.exit(1);
}

function usage(msg) {
	process.stderr.write('ussdc: ' + msg + '\n' +
		'usage: node ussdc.js --scenario FILE|- [--host H] [--port N] [--wait-stdin] [--trace]\n' +
		'       node ussdc.js --msisdn N [--session N | --umr N] --dial CODE [--answer TEXT | --abort]... [--port N]\n');
	process.exit(2);
}

let tracing = false;

function trace(dir, buf) {
	if (tracing) {
		process.stderr.write('ussdc: ' + dir + ' ' + buf.toString('hex') + '\n');
	}
}

// Keep the exact bytes of every PDU node-smpp decodes, so that checks and
// traces see what the gateway sent, not node-smpp's reading of it.
const origFromBuffer = smpp.PDU.prototype.fromBuffer;
smpp.PDU.prototype.fromBuffer = function (buffer) {
	Object.defineProperty(this, 'raw', { value: Buffer.from(buffer), enumerable: false });
	return origFromBuffer.call(this, buffer);
};

// ---------------------------------------------------------------- arguments

function parseArgs(argv) {
	const o = { host: '127.0.0.1', port: 0, waitStdin: false, trace: false, quick: { steps: [] } };
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		const val = () => {
			if (i + 1 >= argv.length) {
				usage(a + ' needs a value');
			}
			return argv[++i];
		};
		switch (a) {
		case '--scenario': o.scenario = val(); break;
		case '--host': o.host = val(); break;
		case '--port': o.port = Number(val()); break;
		case '--wait-stdin': o.waitStdin = true; break;
		case '--trace': o.trace = true; break;
		case '--msisdn': o.quick.msisdn = val(); break;
		case '--session': o.quick.session = Number(val()); break;
		case '--umr': o.quick.umr = Number(val()); break;
		case '--dial': o.quick.steps.push({ d: 'cli', dial: val() }); break;
		case '--answer': o.quick.steps.push({ d: 'cli', answer: val() }); break;
		case '--abort': o.quick.steps.push({ d: 'cli', abort: true }); break;
		case '-h': case '--help': usage('help'); break;
		default: usage('unknown argument ' + a);
		}
	}
	if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) {
		usage('--port wants 0..65535');
	}
	return o;
}

function loadScenario(o) {
	let sc;
	if (o.scenario) {
		const text = fs.readFileSync(o.scenario === '-' ? 0 : o.scenario, 'utf8');
		try {
			sc = JSON.parse(text);
		} catch (e) {
			usage('scenario is not JSON: ' + e.message);
		}
	} else if (o.quick.msisdn && o.quick.steps.length) {
		const d = { msisdn: o.quick.msisdn };
		if (o.quick.session !== undefined) {
			d.its_session = o.quick.session;
		} else if (o.quick.umr !== undefined) {
			d.umr = o.quick.umr;
		} else {
			d.its_session = 1;
		}
		sc = { dialogues: { cli: d }, steps: o.quick.steps };
	} else {
		usage('give --scenario, or --msisdn with --dial');
	}
	const defaults = {
		system_id: 'care360',
		password: 'secret',
		interface_version: 0x34,
		service_code: '*090#',
		service_type: 'USSD', // expected in every submit_sm (generic profile)
		reply_timeout_ms: 5000, // a screen must follow our deliver_sm within this
		resp_timeout_ms: 2000, // a response must follow our request within this
		timeout_ms: 60000, // the whole run
		hold_ms: 300, // how long a held submit_sm_resp is held
		linger_ms: 300, // quiet time after the last step: no stray screens
		silence_ms: 800, // after an abort: no screen for this long
		enquire_link_ms: 0, // 0: one enquire_link after bind; N: every N ms
		expect_enquire_link: 0, // at least this many enquire_link from the gateway
		expect_unbind: false, // after the steps, wait for the gateway's unbind
		limit_gsm_septets: 182, // USSD string limits (GSM 03.90)
		limit_ucs2_octets: 160,
	};
	sc = Object.assign({}, defaults, sc);
	if (!sc.dialogues || typeof sc.dialogues !== 'object' || !Array.isArray(sc.steps) || !sc.steps.length) {
		usage('scenario wants "dialogues" (an object) and "steps" (a non-empty array)');
	}
	for (const [name, d] of Object.entries(sc.dialogues)) {
		if (typeof d.msisdn !== 'string' || !d.msisdn) {
			usage('dialogue ' + name + ' needs "msisdn"');
		}
		d.name = name;
		d.ton = d.ton === undefined ? 1 : d.ton;
		d.npi = d.npi === undefined ? 1 : d.npi;
		d.dest = d.dest === undefined ? sc.service_code : d.dest;
		d.seqBits = 0; // its_session_info octet 2, bits 7..1: we count them
		d.awaiting = null;
		d.screens = 0;
	}
	sc.steps.forEach((st, i) => {
		if (!sc.dialogues[st.d]) {
			usage('step ' + i + ': unknown dialogue ' + JSON.stringify(st.d));
		}
		const kinds = ['dial', 'answer', 'abort'].filter((k) => st[k] !== undefined);
		if (kinds.length !== 1) {
			usage('step ' + i + ': want exactly one of "dial", "answer", "abort"');
		}
	});
	return sc;
}

// ---------------------------------------------------------------- helpers

const hex = (b) => (b ? Buffer.from(b).toString('hex') : null);
const hex8 = (n) => '0x' + (n >>> 0).toString(16).padStart(8, '0');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// encodeText is the subscriber's side: GSM 03.38 unpacked for 0x00, 0x01 and
// 0x0F (node-smpp's GSM table), UCS-2 big-endian for 0x08.
function encodeText(text, dc) {
	if (dc === 0x08) {
		return Buffer.from(text, 'utf16le').swap16();
	}
	if (dc === 0x00 || dc === 0x01 || dc === 0x0F) {
		return smpp.encodings.ASCII.encode(text);
	}
	throw new Error('the peer does not encode data_coding ' + dc);
}

// walkSubmit walks a submit_sm's raw bytes on its own (not node-smpp's
// parser): the mandatory part must end inside the PDU and the TLVs must
// tile the rest exactly. It returns the short_message octets and the TLVs
// [{tag, value}] in order.
function walkSubmit(raw) {
	const len = raw.readUInt32BE(0);
	if (len !== raw.length) {
		throw new Error('command_length ' + len + ' but ' + raw.length + ' octets read');
	}
	let o = 16;
	const cstr = (name) => {
		const e = raw.indexOf(0, o);
		if (e < 0) {
			throw new Error(name + ' has no NUL terminator');
		}
		o = e + 1;
	};
	const skip = (n, name) => {
		o += n;
		if (o > len) {
			throw new Error('PDU ends inside ' + name);
		}
	};
	cstr('service_type');
	skip(2, 'source_addr_ton/npi');
	cstr('source_addr');
	skip(2, 'dest_addr_ton/npi');
	cstr('destination_addr');
	skip(3, 'esm_class/protocol_id/priority_flag');
	cstr('schedule_delivery_time');
	cstr('validity_period');
	skip(4, 'registered_delivery..sm_default_msg_id');
	skip(1, 'sm_length');
	const smLen = raw[o - 1];
	const sm = raw.slice(o, o + smLen);
	skip(smLen, 'short_message (sm_length ' + smLen + ')');
	const tlvs = [];
	while (o < len) {
		if (o + 4 > len) {
			throw new Error((len - o) + ' stray octets after the TLVs');
		}
		const tag = raw.readUInt16BE(o);
		const l = raw.readUInt16BE(o + 2);
		if (o + 4 + l > len) {
			throw new Error('TLV 0x' + tag.toString(16) + ' of length ' + l + ' runs past the end');
		}
		if (tlvs.some((t) => t.tag === tag)) {
			throw new Error('TLV 0x' + tag.toString(16) + ' twice');
		}
		tlvs.push({ tag, value: raw.slice(o + 4, o + 4 + l) });
		o += 4 + l;
	}
	return { sm, tlvs };
}

const TAG_USSD_OP = 0x0501, TAG_ITS = 0x1383, TAG_UMR = 0x0204;
const OP_USSR_REQUEST = 2, OP_PSSR_RESPONSE = 17;

// ---------------------------------------------------------------- the USSD centre

function main() {
	const opts = parseArgs(process.argv.slice(2));
	tracing = opts.trace;
	const sc = loadScenario(opts);
	const dialogues = Object.values(sc.dialogues);

	let session = null;
	let bound = false;
	let stepsDone = false;
	let current = 'waiting for bind_transceiver';
	const pending = new Map(); // our requests by sequence number: {command, resolve, timer}
	const held = []; // gateway submit_sm whose submit_sm_resp we hold: {seq, pdu}
	let enquireLinks = 0;
	let screens = 0;
	let submitSeqs = 0;
	let messageIDs = 0;
	let unbound = null; // resolves when the gateway unbinds after the steps

	const globalTimer = setTimeout(() => fail('scenario timed out after ' + sc.timeout_ms + ' ms, ' + current), sc.timeout_ms);
	globalTimer.unref();

	function send(pdu) {
		if (!session.send(pdu)) {
			fail('cannot write ' + pdu.command + ': the connection is closed');
		}
	}

	// request sends one of our requests and resolves with its response.
	// onResp, if given, runs as soon as the response is read: node-smpp hands
	// over every PDU of one read in a row, before any promise settles, so
	// ordering checks must not wait for the promise.
	function request(pdu, what, onResp) {
		return new Promise((resolve) => {
			// node-smpp numbers our requests (1, 2, ...); only a number still
			// waiting for its answer is skipped, as any SMSC would.
			while (!pdu.sequence_number && pending.has(session.sequence + 1)) {
				session.sequence++;
			}
			send(pdu);
			const seq = pdu.sequence_number;
			if (pending.has(seq)) {
				fail('internal: sequence number ' + seq + ' reused while pending');
			}
			const timer = setTimeout(() => fail('no ' + pdu.command + '_resp for ' + what + ' (seq ' + seq + ') within ' + sc.resp_timeout_ms + ' ms'), sc.resp_timeout_ms);
			pending.set(seq, { command: pdu.command, resolve, timer, onResp });
		});
	}

	function answerSubmit(pdu) {
		send(pdu.response({ message_id: 'ussdc' + (++messageIDs) }));
	}

	function onPDU(pdu) {
		if (finished) {
			return;
		}
		if (pdu.command === 'unknown') {
			send(pdu.response()); // generic_nack, ESME_RINVCMDID
			fail('unknown command_id ' + hex8(pdu.command_id) + ': ' + hex(pdu.raw));
		}
		if (!bound) {
			return onBind(pdu);
		}
		if (pdu.isResponse()) {
			return onResponse(pdu);
		}
		switch (pdu.command) {
		case 'enquire_link':
			enquireLinks++;
			send(pdu.response());
			return;
		case 'submit_sm':
			return onSubmit(pdu);
		case 'unbind':
			send(pdu.response());
			if (!stepsDone) {
				fail('the gateway unbound while ' + current);
			}
			if (unbound) {
				unbound();
			}
			return;
		default:
			send(new smpp.PDU('generic_nack', { sequence_number: pdu.sequence_number, command_status: smpp.ESME_RINVCMDID }));
			fail('unexpected ' + pdu.command + ' from the gateway: ' + hex(pdu.raw));
		}
	}

	function onBind(pdu) {
		if (pdu.isResponse() || !pdu.command.startsWith('bind_')) {
			fail(pdu.command + ' before any bind: ' + hex(pdu.raw));
		}
		if (pdu.command !== 'bind_transceiver') {
			send(pdu.response({ command_status: smpp.ESME_RBINDFAIL }));
			fail(pdu.command + ' instead of bind_transceiver');
		}
		if (pdu.system_id !== sc.system_id || pdu.password !== sc.password) {
			send(pdu.response({ command_status: smpp.ESME_RINVPASWD }));
			fail('bind_transceiver as ' + JSON.stringify(pdu.system_id) + '/' + JSON.stringify(pdu.password) +
				', want ' + JSON.stringify(sc.system_id) + '/' + JSON.stringify(sc.password));
		}
		if (pdu.interface_version !== sc.interface_version) {
			send(pdu.response({ command_status: smpp.ESME_RBINDFAIL }));
			fail('bind_transceiver interface_version 0x' + pdu.interface_version.toString(16) + ', want 0x' + sc.interface_version.toString(16));
		}
		send(pdu.response({ system_id: 'ussdc-node' }));
		bound = true;
		emit({ event: 'bound', system_id: pdu.system_id, interface_version: pdu.interface_version, seq: pdu.sequence_number });
		start();
	}

	function onResponse(pdu) {
		const p = pending.get(pdu.sequence_number);
		if (!p) {
			fail(pdu.command + ' (seq ' + pdu.sequence_number + ') answers no request of ours: ' + hex(pdu.raw));
		}
		pending.delete(pdu.sequence_number);
		clearTimeout(p.timer);
		if (pdu.command === 'generic_nack') {
			fail('generic_nack ' + hex8(pdu.command_status) + ' for our ' + p.command + ' (seq ' + pdu.sequence_number + ')');
		}
		if (pdu.command !== p.command + '_resp') {
			fail(pdu.command + ' answers our ' + p.command + ' (seq ' + pdu.sequence_number + '): ' + hex(pdu.raw));
		}
		if (p.onResp) {
			p.onResp(pdu);
		}
		p.resolve(pdu);
	}

	// onSubmit checks a screen against PRODUCT.md §3.1 and hands it to the
	// step waiting for it.
	function onSubmit(pdu) {
		const seq = pdu.sequence_number;
		const bad = (msg) => fail('submit_sm seq ' + seq + ': ' + msg + '; the PDU: ' + hex(pdu.raw));
		if (seq === 0 || seq > 0x7FFFFFFF) {
			bad('sequence number out of 1..0x7FFFFFFF');
		}
		if (held.some((h) => h.seq === seq)) {
			bad('sequence number of a submit_sm still unanswered');
		}
		let tlvs, smOctets;
		try {
			({ sm: smOctets, tlvs } = walkSubmit(pdu.raw));
		} catch (e) {
			bad(e.message);
		}
		const tlv = (tag) => {
			const t = tlvs.find((x) => x.tag === tag);
			return t ? t.value : null;
		};
		const opB = tlv(TAG_USSD_OP), its = tlv(TAG_ITS), umrB = tlv(TAG_UMR);
		if (!opB) {
			bad('no ussd_service_op (0x0501)');
		}
		if (opB.length !== 1) {
			bad('ussd_service_op of ' + opB.length + ' octets');
		}
		const op = opB[0];
		if (op !== OP_USSR_REQUEST && op !== OP_PSSR_RESPONSE) {
			bad('ussd_service_op ' + op + ', want 2 (USSR request) or 17 (PSSR response)');
		}
		const d = dialogues.find((x) => x.msisdn === pdu.destination_addr &&
			(x.its_session === undefined ? true : its && its[0] === x.its_session) &&
			(x.umr === undefined ? true : umrB && umrB.length === 2 && umrB.readUInt16BE(0) === x.umr));
		if (!d) {
			bad('destination_addr ' + JSON.stringify(pdu.destination_addr) + ' its_session_info ' + hex(its) +
				' user_message_reference ' + hex(umrB) + ' is no dialogue of ours');
		}
		const w = d.awaiting;
		if (!w) {
			bad('a screen for dialogue ' + d.name + ', which waits for none (' + current + ')');
		}
		if (!w.respSeen) {
			bad('the screen came before the deliver_sm_resp of step ' + w.step);
		}
		const want = (cond, msg) => {
			if (!cond) {
				bad('dialogue ' + d.name + ', step ' + w.step + ': ' + msg);
			}
		};
		want(pdu.service_type === sc.service_type, 'service_type ' + JSON.stringify(pdu.service_type) + ', want ' + JSON.stringify(sc.service_type));
		want(pdu.source_addr === d.dest, 'source_addr ' + JSON.stringify(pdu.source_addr) + ', want the code dialled to, ' + JSON.stringify(d.dest));
		want(pdu.dest_addr_ton === d.ton && pdu.dest_addr_npi === d.npi,
			'dest_addr_ton/npi ' + pdu.dest_addr_ton + '/' + pdu.dest_addr_npi + ', want ' + d.ton + '/' + d.npi + ' as in our source_addr');
		want((pdu.esm_class & 0x40) === 0, 'esm_class 0x' + pdu.esm_class.toString(16) + ' has UDHI set');
		if (d.its_session !== undefined) {
			want(its && its.length === 2, 'its_session_info ' + hex(its) + ', want 2 octets');
			const wantInfo = (w.sentInfo & 0xFE) | (op === OP_PSSR_RESPONSE ? 1 : 0);
			want(its[1] === wantInfo, 'its_session_info octet 2 is 0x' + its[1].toString(16) + ', want 0x' + wantInfo.toString(16) +
				' (sequence bits as sent, end bit ' + (op === OP_PSSR_RESPONSE ? 'set on op 17' : 'clear on op 2') + ')');
		} else {
			want(!its, 'its_session_info ' + hex(its) + ' though we sent none');
		}
		if (d.umr !== undefined) {
			want(umrB && umrB.length === 2, 'user_message_reference ' + hex(umrB) + ', want 2 octets');
		} else {
			want(!umrB, 'user_message_reference ' + hex(umrB) + ' though we sent none');
		}
		const dc = pdu.data_coding;
		const sm = pdu.short_message;
		want(dc === 0x00 || dc === 0x08, 'data_coding 0x' + dc.toString(16) + ', want 0x00 (GSM-7) or 0x08 (UCS-2)');
		if (dc === 0x00) {
			want(smOctets.every((b) => b < 0x80), 'GSM-7 unpacked text has an octet ≥ 0x80: ' + hex(smOctets));
			want(smOctets.length <= sc.limit_gsm_septets, smOctets.length + ' septets, more than a USSD string holds (' + sc.limit_gsm_septets + ')');
		} else {
			want(smOctets.length % 2 === 0, 'UCS-2 text of odd length ' + smOctets.length);
			want(smOctets.length <= sc.limit_ucs2_octets, smOctets.length + ' UCS-2 octets, more than a USSD string holds (' + sc.limit_ucs2_octets + ')');
		}
		want(smOctets.length > 0, 'empty screen');
		const text = sm && typeof sm.message === 'string' ? sm.message : null;
		want(text !== null, 'node-smpp could not decode the short_message');
		submitSeqs++;
		// What a retry must repeat: every field and every TLV. TLVs may come
		// in any order (SMPP 3.4), and the gateway's order varies.
		const tlvBytes = tlvs.reduce((n, t) => n + 4 + t.value.length, 0);
		const body = hex(pdu.raw.slice(16, pdu.raw.length - tlvBytes)) + ' ' +
			tlvs.map((t) => t.tag.toString(16).padStart(4, '0') + ':' + hex(t.value)).sort().join(' ');
		if (w.lastBody && w.lastBody !== body) {
			bad('the retry of a refused screen differs from it (' + w.lastBody + ')');
		}
		if (w.refuse.length) {
			// Refuse this submit_sm (ESME_RTHROTTLED, ESME_RMSGQFUL, ...): the
			// gateway must send the very same screen again.
			const status = w.refuse.shift();
			w.lastBody = body;
			send(pdu.response({ command_status: status }));
			emit({ event: 'refused', step: w.step, dialogue: d.name, seq, status });
			return;
		}
		screens++;
		d.screens++;
		d.awaiting = null;
		emit({
			event: 'screen', step: w.step, dialogue: d.name, msisdn: pdu.destination_addr, op,
			session_info: hex(its), umr: umrB ? umrB.readUInt16BE(0) : null, data_coding: dc, text,
			seq, ms: Date.now() - w.since,
		});
		if (w.hold) {
			held.push({ seq, pdu });
			setTimeout(() => {
				held.splice(held.findIndex((h) => h.seq === seq), 1);
				answerSubmit(pdu);
			}, sc.hold_ms);
		} else {
			answerSubmit(pdu);
		}
		w.resolve();
	}

	function deliverSM(d, st, op, text, dc, endBit) {
		const info = ((d.seqBits & 0x7F) << 1) | (endBit ? 1 : 0);
		d.seqBits = (d.seqBits + 1) & 0x7F;
		const o = {
			service_type: '',
			source_addr_ton: d.ton, source_addr_npi: d.npi, source_addr: d.msisdn,
			dest_addr_ton: 0, dest_addr_npi: 0, destination_addr: d.dest,
			esm_class: 0, data_coding: dc,
			short_message: st.short_message_hex !== undefined ? Buffer.from(st.short_message_hex, 'hex') : encodeText(text, dc),
			ussd_service_op: op,
		};
		if (d.its_session !== undefined) {
			o.its_session_info = Buffer.from([d.its_session, info]);
		}
		if (st.its_session_info !== undefined) { // raw override, for malformed PDUs
			o.its_session_info = Buffer.from(st.its_session_info, 'hex');
		}
		if (d.umr !== undefined) {
			o.user_message_reference = d.umr;
		}
		for (const [tag, value] of Object.entries(st.tlvs || {})) { // extra TLVs: {"0x1501": "hex"}
			const id = Number(tag);
			if (!Number.isInteger(id) || id <= 0 || id > 0xFFFF) {
				fail('step ' + st.i + ': bad TLV tag ' + JSON.stringify(tag));
			}
			const name = 'tlv_' + id.toString(16);
			if (!smpp.tlvs[name]) {
				smpp.addTLV(name, { id, type: smpp.types.tlv.buffer });
			}
			o[name] = Buffer.from(value, 'hex');
		}
		if (st.seq === 'held') {
			if (!held.length) {
				fail('step ' + st.i + ': "seq":"held" but no submit_sm_resp is held');
			}
			o.sequence_number = held[0].seq;
			emit({ event: 'collision', step: st.i, seq: o.sequence_number, note: 'deliver_sm carries the sequence number of the gateway submit_sm still waiting for its resp' });
		}
		return { pdu: new smpp.PDU('deliver_sm', o), info };
	}

	async function runStep(st, i) {
		st.i = i;
		const d = sc.dialogues[st.d];
		let op, text, dc, endBit, expectScreen;
		if (st.abort !== undefined) {
			op = st.op === undefined ? 32 : st.op;
			text = st.text || '';
			endBit = !!st.end_bit;
			expectScreen = false;
		} else {
			op = st.op === undefined ? (st.dial !== undefined ? 1 : 18) : st.op;
			text = st.dial !== undefined ? st.dial : st.answer;
			endBit = !!st.end_bit;
			expectScreen = st.expect_screen === undefined ? true : st.expect_screen;
		}
		dc = st.data_coding === undefined ? 0x0F : st.data_coding;
		const expectStatus = st.expect_status === undefined ? 0 : st.expect_status;
		if (expectStatus !== 0) {
			expectScreen = false;
		}
		const { pdu, info } = deliverSM(d, st, op, text, dc, endBit);
		current = 'in step ' + i + ' (dialogue ' + d.name + ', op ' + op + ', ' + JSON.stringify(text) + ')';
		let screen = null;
		const w = { step: i, sentInfo: info, since: Date.now(), respSeen: false, hold: !!st.hold, refuse: (st.refuse || []).slice() };
		if (expectScreen) {
			screen = new Promise((resolve) => { w.resolve = resolve; });
			d.awaiting = w;
		}
		const resp = await request(pdu, 'step ' + i, () => { w.respSeen = true; });
		if (resp.command_status !== expectStatus) {
			fail('deliver_sm_resp status ' + hex8(resp.command_status) + ' in ' + current + ', want ' + hex8(expectStatus));
		}
		if (resp.message_id) {
			fail('deliver_sm_resp message_id ' + JSON.stringify(resp.message_id) + ' in ' + current + ': SMPP 3.4 says NULL');
		}
		if (expectScreen) {
			const t = setTimeout(() => fail('no screen within ' + sc.reply_timeout_ms + ' ms ' + current), sc.reply_timeout_ms);
			await screen;
			clearTimeout(t);
			return;
		}
		// No screen may follow: any submit_sm for d from now on fails the run.
		const silence = st.silence_ms === undefined ? sc.silence_ms : st.silence_ms;
		current = 'during the ' + silence + ' ms of silence after step ' + i + ' (dialogue ' + d.name + ', op ' + op + ')';
		await sleep(silence);
		emit({ event: 'silence', step: i, dialogue: d.name, op, session_info: pdu.its_session_info ? hex(pdu.its_session_info) : null, status: resp.command_status, silence_ms: silence });
	}

	async function peerEnquireLink() {
		const resp = await request(new smpp.PDU('enquire_link', {}), 'our enquire_link');
		if (resp.command_status !== 0) {
			fail('enquire_link_resp status ' + hex8(resp.command_status));
		}
	}

	async function run() {
		await peerEnquireLink();
		let ticker = null;
		if (sc.enquire_link_ms > 0) {
			ticker = setInterval(() => peerEnquireLink(), sc.enquire_link_ms);
		}
		for (let i = 0; i < sc.steps.length; i++) {
			await runStep(sc.steps[i], i);
		}
		current = 'in the ' + sc.linger_ms + ' ms after the last step';
		await sleep(Math.max(sc.linger_ms, held.length ? sc.hold_ms : 0));
		if (ticker) {
			clearInterval(ticker);
		}
		while (pending.size) {
			await sleep(10); // answers to our last enquire_link
		}
		stepsDone = true;
		current = 'after the steps';
		emit({ event: 'steps_done', screens });
		if (sc.expect_unbind) {
			current = 'waiting for the gateway to unbind';
			await new Promise((r) => { unbound = r; });
		}
		if (enquireLinks < sc.expect_enquire_link) {
			fail('the gateway sent ' + enquireLinks + ' enquire_link, want at least ' + sc.expect_enquire_link);
		}
		finished = true;
		emit({ event: 'done', screens, enquire_links: enquireLinks, submit_sm: submitSeqs, unbound: !!sc.expect_unbind });
		session.destroy();
		server.close();
		process.exit(0);
	}

	function start() {
		if (!opts.waitStdin) {
			run();
			return;
		}
		current = 'waiting for "go" on stdin';
		const rl = readline.createInterface({ input: process.stdin });
		let started = false;
		rl.on('line', (line) => {
			if (!started && line.trim() === 'go') {
				started = true;
				rl.close();
				run();
			}
		});
		rl.on('close', () => {
			if (!started) {
				fail('stdin closed before "go"');
			}
		});
	}

	const server = smpp.createServer((s) => {
		if (session) {
			s.destroy();
			fail('a second connection from ' + s.socket.remoteAddress + ' while ' + current + ' (did the gateway drop the link and rebind?)');
		}
		session = s;
		s.socket.setNoDelay(true);
		const write = s.socket.write.bind(s.socket);
		s.socket.write = (buf, ...rest) => {
			trace('>', buf);
			return write(buf, ...rest);
		};
		s.on('pdu', (pdu) => {
			trace('<', pdu.raw || Buffer.alloc(0));
			onPDU(pdu);
		});
		s.on('error', (e) => fail('connection error ' + current + ': ' + e.message));
		s.on('close', () => fail('the gateway closed the connection ' + current));
	});
	server.on('error', (e) => fail('listen: ' + e.message));
	server.listen(opts.port, opts.host, () => {
		emit({ event: 'listening', host: opts.host, port: server.address().port });
	});
}

main();
