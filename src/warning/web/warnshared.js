/*
 * warnshared.js — words of the M3 预警发布与叫应 pages (docs/warnings.md).
 *
 * Every code the warning API speaks (workflow state, CAP category, urgency,
 * delivery kind and state, call-up event) has its Chinese label here, so
 * pages never show a raw code.  Used by warning.js (the signed-in pages);
 * the public page and the acknowledgement page (public.js, ack.js) keep
 * to the few words they need.
 */
import { h } from '../../js/dom.js';

export const WARN_STATES = {
  draft: '草稿',
  submitted: '待审批',
  approved: '已批准',
  published: '已发布',
  updated: '已更新',
  cancelled: '已解除',
  expired: '已过期',
  received: '已接收（演练/测试）',
};

/* CAP categories (the API speaks the CAP words). */
export const CATEGORIES = {
  Met: '气象', Geo: '地质', Safety: '安全生产', Fire: '火灾', Rescue: '救援', Env: '环境',
  Health: '卫生', Transport: '交通', Infra: '基础设施', Security: '社会安全', CBRNE: '危化/核生化', Other: '其他',
};
export const URGENCY = { Immediate: '立即', Expected: '预期', Future: '未来', Past: '已过去', Unknown: '未知' };
export const CERTAINTY = { Observed: '已发生', Likely: '很可能', Possible: '可能', Unlikely: '不太可能', Unknown: '未知' };
export const MSG_TYPES = { Alert: '首发', Update: '更新', Cancel: '解除' };

/* Event types a bureau issues most; the field also takes any other. */
export const EVENT_TYPES = ['暴雨', '大风', '寒潮', '暴雪', '冰雹', '雷电', '高温', '干旱', '大雾', '道路结冰',
  '山洪', '洪水', '地质灾害', '森林火灾', '地震', '瓦斯超限', '危险化学品泄漏', '尾矿库险情'];

export const TIMELINE = {
  created: '创建草稿',
  edited: '修改草稿',
  submitted: '提交审批',
  approved: '审批通过',
  rejected: '退回修改',
  published: '发布',
  update_drafted: '起草更新',
  updated: '已被更新',
  cancelled: '解除',
  expired: '到期失效',
  received: '接收外部预警',
};

export const KINDS = {
  responsible: '责任人',
  escalation: '逐级上报',
  contact: '包保联系人',
  enterprise: '企业安全员',
  resident: '居民',
  terminal: '广播终端',
  informant: '信息员/网格员',
};

export const DELIVERY_STATES = {
  pending: '待发送',
  sent: '已发送',
  delivered: '已送达',
  acked: '已应答',
  failed: '发送失败',
  nochannel: '无可用渠道',
  stopped: '已停止',
};

export const ACK_VIA = { sms: '短信回复', voice: '语音应答', link: '短信链接', app: '客户端', phone: '值班员登记' };

export const CALLUP_EVENTS = {
  targeted: '确定发送对象',
  acked: '应答',
  escalated: '未应答，逐级上报',
  escalation_exhausted: '未应答，已无上级可报',
  unanswered: '多轮呼叫未应答',
  nochannel: '无可用渠道',
  stopped: '停止发送',
  played: '广播已播放',
  reply: '短信回复（未计为应答）',
};

/** Who approves which level (the server's table; shown as a hint). */
export const APPROVERS = {
  1: '红色预警由市级指挥长审批',
  2: '橙色预警由县级以上指挥长审批',
  3: '黄色预警由指挥长审批',
  4: '蓝色预警由指挥长或值班员审批',
};

export function warnStateBadge(state) {
  return h('span', { class: `state-badge wstate-${state}` }, WARN_STATES[state] || state || '');
}

/** A share 0..1 as a percentage with one decimal. */
export function pct(x) {
  if (x === null || x === undefined || Number.isNaN(Number(x))) return '—';
  return `${(Number(x) * 100).toFixed(1)}%`;
}

/** Seconds as 1小时2分 / 3分4秒. */
export function fmtDuration(s) {
  if (s === null || s === undefined) return '—';
  const n = Math.round(Number(s));
  if (n < 60) return `${n}秒`;
  if (n < 3600) return `${Math.floor(n / 60)}分${n % 60 ? `${n % 60}秒` : ''}`;
  return `${Math.floor(n / 3600)}小时${Math.floor((n % 3600) / 60)}分`;
}
