"""Words that say nothing about what a text is about: for turning queries into search terms
(`STOP_WORDS`, English), and for topic labels (`LABEL_STOP_WORDS`: English, the function words of the
other languages feeds arrive in, the filler of web writing, and the furniture of feeds and links).

Kept here, not borrowed from scikit-learn, so a search or a sprint's reading list does not pay for
importing it (about 0.7 s on a 2-core machine).
"""

from __future__ import annotations

STOP_WORDS = frozenset("""
a about above across after afterwards again against all almost alone along already also although always am
among amongst an and another any anyhow anyone anything anyway anywhere are around as at back be became because
become becomes becoming been before beforehand behind being below beside besides between beyond both but by
can cannot could did do does doing done down during each either else elsewhere enough etc even ever every
everyone everything everywhere except few for former formerly from further had has have having he hence her
here hereafter hereby herein hers herself him himself his how however i if in indeed into is it its itself
just last latter least less may me meanwhile might mine more moreover most mostly much must my myself namely
neither never nevertheless next no nobody none nor not nothing now nowhere of off often on once one only onto
or other others otherwise our ours ourselves out over own per perhaps please quite rather same see seem seemed
seeming seems several she should since so some somehow someone something sometime sometimes somewhere still
such than that the their theirs them themselves then thence there thereafter thereby therefore therein these
they this those though through throughout thru thus to together too toward towards under until up upon us
very via was we well were what whatever when whence whenever where whereafter whereas whereby wherein whereupon
wherever whether which while whither who whoever whole whom whose why will with within without would yet you
your yours yourself yourselves
""".split())


# -- words that never name a topic --------------------------------------------------------------------
# Topic labels need more than the English list above: the pile holds posts in other languages, and
# web writing has its own filler. Function words of the languages feeds arrive in, written for this
# project (articles, pronouns, prepositions, conjunctions, auxiliaries and the commonest adverbs).
GERMAN = frozenset("""
aber alle allem allen aller alles als also am an ander andere anderen anderer anderes auch auf aus bei beim bin
bis bist bisher da dabei dadurch dafür dagegen daher damit dann daran darauf darin darum darüber das dass dazu
dein deine dem den denen denn der deren des deshalb dessen dich die dies diese diesem diesen dieser dieses dir
doch dort du durch ein eine einem einen einer eines einige einmal er es etwa etwas euch euer eure für gegen
gewesen hab habe haben hat hatte hatten hier hin hinter ich ihm ihn ihnen ihr ihre ihrem ihren ihrer ihres im
immer in indem ins ist ja jede jedem jeden jeder jedes jetzt kann kein keine keinem keinen keiner können könnte
machen man mehr mein meine mich mir mit muss müssen nach nachdem neue neuen nicht nichts noch nun nur ob oder
ohne schon sehr sein seine seinem seinen seiner seit selbst sich sie sind so sogar solche soll sollen sollte
sondern sowie über um und uns unser unsere unter viel viele vom von vor während war waren warum was weil weiter
welche welchem welchen welcher wenn wer werden wie wieder will wir wird wo wohl wurde wurden zu zum zur zwar
zwischen heute gibt geht beim ganz gut neu neues mal dazu laut rund
""".split())
FRENCH = frozenset("""
à au aux avec avoir ce ceci cela celle celles celui ces cet cette chez comme comment dans de des donc dont du
elle elles en encore entre est et été être eu eux fait faire il ils je la le les leur leurs lui ma mais me même
mes moi mon ne ni nos notre nous on ont ou où par pas peu plus pour pourquoi quand que quel quelle quelles quels
qui sa sans se selon ses si son sont sous sur ta te tes toi ton tous tout toute toutes très tu un une vos votre
vous était sera aussi alors après avant bien car depuis déjà lors puis sans tant
""".split())
SPANISH = frozenset("""
a al algo algunos ante antes como con contra cual cuando de del desde donde durante e el él ella ellas ellos
en entre era es esa esas ese eso esos esta está están estas este esto estos fue fueron ha han hasta hay la las
le les lo los más me mi muy ni no nos nosotros o para pero por porque que quien se ser si sí sin sino sobre son
su sus también tan te tiene tienen todo todos tu un una uno unos y ya
""".split())
DUTCH = frozenset("""
aan al als bij dan dat de deze die dit door een en er had heb hebben heeft het hier hij hoe hun ik in is ja je
kan maar me met mij mijn na naar niet nog nu of om ons ook op over te tegen toen tot uit van veel voor was wat
we wel werd wie wij worden wordt zal ze zich zij zijn zo zou
""".split())
ITALIAN_PORTUGUESE = frozenset("""
il lo gli della delle dello degli nel nella nei sul sulla per con che non una uno sono è anche come più dal
dalla alla alle ai ed ma se questo questa o os um uma uns umas do da dos das no na nos nas em pelo pela ao aos
não mais muito também foi ser são
""".split())
# English words of web writing and talk that say nothing about a subject ("said", "people, know, things").
GENERIC = frozenset("""
said says say saying told tell tells asked ask people person thing things know knows knew like likes just don
doesn didn isn wasn aren won can't don't it's i'm you're we're they're i've ve ll re let lets really actually
pretty lot lots want wants wanted think thinks thought make makes making made going got gets getting good
great better best bad little today yesterday week weeks year years month months day days
new old way ways something anything everything nothing someone everyone look looks looking need needs
needed come comes came went goes use uses used using work works working help helps try trying start started
right left sure maybe probably kind sort stuff guy guys yes yeah okay ok thanks thank hello hi
introducing introduces announcing announced announces announcement launch launches launched available
update updates updated latest coming soon news post posts blog article articles story stories read
episode podcast watch click here full learn discover check via per mr mrs ms dr
""".split())
# Markup, feed furniture and the pieces of a link: what a page's frame says, never what it is about.
WEB = frozenset("""
http https www com org net io html htm php asp aspx xml rss atom feed feeds url urls link links href src
img jpg jpeg png gif pdf utm amp nbsp quot id item items page pages index preview
comments comment points submitted reply replies share shares like likes upvote upvotes
subscribe subscribed newsletter email continue more permalink posted author authors tags tag
copyright rights reserved privacy cookie cookies menu home login
""".split())

FOREIGN_FUNCTION_WORDS = GERMAN | FRENCH | SPANISH | DUTCH | ITALIAN_PORTUGUESE
LABEL_STOP_WORDS = STOP_WORDS | FOREIGN_FUNCTION_WORDS | GENERIC | WEB
