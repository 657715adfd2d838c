/**
 * XML callback bodies, read without configuration and without entity expansion: a DOCTYPE or
 * ENTITY is refused before parsing, and only the five predefined entities and character
 * references are decoded.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { invalid, newFields, setField, type Budget, type Fields } from './budget.js';


/**
 * Element names go through the parser with a "$" in front ("$" cannot start an XML name, so
 * nothing collides): fast-xml-parser refuses `constructor` or `__proto__` as tag names and renames
 * `toString`, while a template may name an element anything. The walk below takes the "$" off.
 * Idempotent because the parser transforms a self-closing tag's name twice.
 */
const escapeName = (name: string) => (name.startsWith('$') ? name : `$${name}`);

const xmlParsers = new Map<number, XMLParser>();

function xmlParser(maxDepth: number): XMLParser {
  let parser = xmlParsers.get(maxDepth);
  if (!parser) {
    parser = new XMLParser({
      // Entities off: a callback has no use for them and they are how XML bombs work. The five
      // predefined ones and character references are decoded by decodeXmlText instead.
      processEntities: false,
      htmlEntities: false,
      // Values stay strings; the validator decides what is a number.
      parseTagValue: false,
      parseAttributeValue: false,
      ignoreAttributes: false,
      ignoreDeclaration: true,
      ignorePiTags: true,
      // Ordered output keeps text and CDATA apart (CDATA is not entity-decoded) and lets the
      // walk below build its own objects; the default output is built recursively.
      preserveOrder: true,
      cdataPropName: '#cdata',
      trimValues: false,
      transformTagName: escapeName,
      // +1: the root element is a wrapper, not a level of fields.
      maxNestedTags: Math.min(maxDepth, 10_000) + 1,
    });
    xmlParsers.set(maxDepth, parser);
  }
  return parser;
}

/** One node of the parser's ordered output. */
type XmlNode = { [name: string]: XmlNode[] | string | Record<string, string> | undefined; ':@'?: Record<string, string> };

const XML_REF = /&(?:(amp|lt|gt|quot|apos)|#([0-9]{1,7})|#x([0-9a-fA-F]{1,6}));/g;
const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** XML's Char production: a reference to anything else is not XML and is left as written. */
function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/** Decodes the five predefined entities and character references; any other "&name;" stays. */
function decodeXmlText(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(XML_REF, (ref, name: string | undefined, dec: string | undefined, hex: string | undefined) => {
    if (name) return PREDEFINED[name]!;
    const cp = dec !== undefined ? Number.parseInt(dec, 10) : Number.parseInt(hex!, 16);
    return isXmlChar(cp) ? String.fromCodePoint(cp) : ref;
  });
}

/**
 * Refuses any "<!" markup but comments and CDATA (DOCTYPE, ENTITY, ELEMENT...): a delivery
 * report has no use for a DTD, and a DTD is how entity bombs arrive. One linear scan.
 */
function refuseDeclarations(text: string): void {
  let i = text.indexOf('<!');
  while (i >= 0) {
    let end: number;
    if (text.startsWith('<!--', i)) end = text.indexOf('-->', i + 4);
    else if (text.startsWith('<![CDATA[', i)) end = text.indexOf(']]>', i + 9);
    else {
      const what = /^<!([A-Za-z]*)/.exec(text.slice(i, i + 12))![1]!.toUpperCase() || '<!';
      throw invalid(`the XML body has a ${what} declaration: refused, a delivery report has no use for a DTD or entities`);
    }
    if (end < 0) return; // unclosed: the validator says so
    i = text.indexOf('<!', end);
  }
}

function elementName(node: XmlNode): string | null {
  for (const key of Object.keys(node)) if (key.startsWith('$')) return key;
  return null;
}

const childrenOf = (node: XmlNode, name: string) => node[name] as XmlNode[];

const isXmlnsAttr = (name: string) => name === 'xmlns' || name.startsWith('xmlns:');

/** Attributes without the parser's "@_" prefix and without namespace declarations. */
function attributesOf(node: XmlNode): [string, string][] {
  const attrs = node[':@'];
  if (!attrs) return [];
  return Object.keys(attrs)
    .map((k) => [k.slice(2), attrs[k]!] as [string, string])
    .filter(([k]) => !isXmlnsAttr(k));
}

/** An element with attributes or child elements becomes an object; one with only text, a string. */
function hasStructure(node: XmlNode, name: string): boolean {
  return attributesOf(node).length > 0 || childrenOf(node, name).some((c) => elementName(c) !== null);
}

/**
 * An element's text: text parts decoded, CDATA as written, whitespace at the outer edges
 * dropped (it is indentation) unless CDATA holds it.
 */
function textOf(children: XmlNode[]): string {
  let out = '';
  const parts = children.filter((c) => '#text' in c || '#cdata' in c);
  parts.forEach((part, i) => {
    if ('#cdata' in part) {
      out += ((part['#cdata'] as XmlNode[])[0]?.['#text'] as string | undefined) ?? '';
      return;
    }
    let t = part['#text'] as string;
    if (i === 0) t = t.trimStart();
    if (i === parts.length - 1) t = t.trimEnd();
    out += decodeXmlText(t);
  });
  return out;
}

/** "line 3, column 7: ..." from the validator, cut short: its messages can quote the whole body. */
function xmlProblem(err: { msg: string; line: number; col: number }): string {
  const msg = err.msg.length > 160 ? `${err.msg.slice(0, 160)}...` : err.msg;
  return `the body is not well-formed XML (line ${err.line}, column ${err.col}: ${msg})`;
}

/**
 * XML fields: the root element, whatever its name, is the report; its attributes and child
 * elements are the fields (attributes first, both by their own names). An element with only
 * text is a string; one with children or attributes is a nested object, its text (if any) under
 * "#text". A repeated element keeps its first occurrence, like a repeated form key.
 */
export function readXml(text: string, budget: Budget): Fields {
  refuseDeclarations(text);
  let check: ReturnType<typeof XMLValidator.validate>;
  try {
    check = XMLValidator.validate(text);
  } catch (err) {
    throw invalid(`the body is not well-formed XML (${(err as Error).message})`);
  }
  if (check !== true) throw invalid(xmlProblem(check.err));
  let doc: XmlNode[];
  try {
    doc = xmlParser(budget.limits.maxDepth).parse(text) as XmlNode[];
  } catch (err) {
    const message = (err as Error).message;
    if (/maximum nested tags/i.test(message)) budget.level(Infinity);
    throw invalid(`the body is not well-formed XML (${message})`);
  }
  const roots = doc.filter((n) => elementName(n) !== null);
  if (roots.length !== 1) throw invalid(`the XML body has ${roots.length} root elements: expected one`);
  const root = roots[0]!;
  const rootName = elementName(root)!;
  const fields = newFields();
  if (!hasStructure(root, rootName)) {
    if (textOf(childrenOf(root, rootName)) !== '') {
      throw invalid(`the XML root <${rootName.slice(1)}> holds only text: expected fields as child elements or attributes`);
    }
    return fields;
  }
  const stack: [XmlNode, string, Fields, number][] = [[root, rootName, fields, 1]];
  while (stack.length > 0) {
    const [node, name, target, depth] = stack.pop()!;
    for (const [attr, value] of attributesOf(node)) {
      budget.entry(attr);
      if (!Object.hasOwn(target, attr)) setField(target, attr, decodeXmlText(value));
    }
    const children = childrenOf(node, name);
    for (const child of children) {
      const childName = elementName(child);
      if (childName === null) continue;
      const key = childName.slice(1);
      budget.entry(key);
      if (Object.hasOwn(target, key)) continue;
      if (hasStructure(child, childName)) {
        budget.level(depth + 1);
        const nested = newFields();
        setField(target, key, nested);
        stack.push([child, childName, nested, depth + 1]);
      } else {
        setField(target, key, textOf(childrenOf(child, childName)));
      }
    }
    const own = textOf(children);
    if (own.trim() !== '' && !Object.hasOwn(target, '#text')) target['#text'] = own;
  }
  return fields;
}
